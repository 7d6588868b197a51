// Which jest test file runs a spec. Every *.spec.ts under test/ runs inside one of two test files, each spec
// in a describe block named after its path under test/ (`harbor`, `validation/cel`, `cli/faults`): the specs
// of the command lines (test/cli/, which write work folders and run whole synths) in test/cli.test.ts, every
// other in test/specs.test.ts. Two files, so that jest's two workers (one per core) each run one; one file
// per spec loaded the app's modules and warmed the validation again in each, about a second apiece.
// Read by test/run-specs.ts (the two test files) and scripts/test.js (`npm test -- test/<name>.spec.ts`).
'use strict';
const path = require('path');

/** The test files that run specs, by the folder under test/ whose specs they run ('' for the rest). */
const RUNNERS = { 'cli.test.ts': 'cli', 'specs.test.ts': '' };

/** The runner of a spec, given its path under test/ (e.g. cli/faults.spec.ts). */
function runnerOf(spec) {
  const top = spec.split(/[\\/]/)[0];
  return Object.keys(RUNNERS).find((r) => RUNNERS[r] === top) ?? 'specs.test.ts';
}

/** A spec's describe block: its path under test/, without .spec.ts, with forward slashes. */
function specName(spec) {
  return spec.replace(/\.spec\.ts$/, '').split(path.sep).join('/');
}

module.exports = { RUNNERS, runnerOf, specName };
