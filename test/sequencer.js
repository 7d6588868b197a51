// The order jest runs the test files in: jest's own (a file that failed last time first, then the longest by
// the durations it recorded, then the largest), except that the two files that run the specs
// (test/runners.js), the longest, always go first, one per worker. Jest would start them last where it has no
// duration for them (a fresh clone, an emptied jest cache: it goes by size, and each file is a few lines) or
// only a short one (after `npm test -- test/<name>.spec.ts` ran one spec), and they would then run alone, on
// one core, at the end.
'use strict';
const path = require('path');
const TestSequencer = require('@jest/test-sequencer').default;
const { RUNNERS } = require('./runners');

const runner = (t) => path.dirname(t.path) === __dirname && Object.keys(RUNNERS).includes(path.basename(t.path));

class SpecsFirst extends TestSequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    return [...sorted.filter(runner), ...sorted.filter((t) => !runner(t))];
  }
}

module.exports = SpecsFirst;
