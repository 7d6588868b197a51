// The order jest runs the test files in: jest's own (a file that failed last time first, then the longest by
// the durations it recorded, then the largest), except that test/specs.test.ts, which runs every *.spec.ts and
// is the longest, always goes first. Jest would start it last where it has no duration for it (a fresh clone,
// an emptied jest cache: it goes by size, and the file is 30 lines) or only a short one (after
// `npm test -- test/<name>.spec.ts` ran one spec), and it would then run alone, on one core, at the end.
'use strict';
const path = require('path');
const TestSequencer = require('@jest/test-sequencer').default;

class SpecsFirst extends TestSequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    const specs = sorted.findIndex((t) => t.path.endsWith(`${path.sep}test${path.sep}specs.test.ts`));
    return specs < 0 ? sorted : [sorted[specs], ...sorted.slice(0, specs), ...sorted.slice(specs + 1)];
  }
}

module.exports = SpecsFirst;
