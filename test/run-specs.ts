// Runs the specs of one runner (test/runners.js), each in a describe block named after it. Jest gives each test
// file its own module registry: together, the specs load the app's modules and build the lab platform once
// (test/helpers.ts keeps the lab). A spec must therefore leave nothing behind for the next: no module mocks
// (those stay in a *.test.ts of their own, like test/promote.test.ts), environment variables, the working
// directory and spies restored, the shared lab platform never added to.
import * as fs from 'fs';
import * as path from 'path';
// First, so that its cleanup of temporary folders runs once the last spec is done, not when the first that loads it is.
import './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { runnerOf, specName } = require('./runners') as { runnerOf: (spec: string) => string; specName: (spec: string) => string };

export function runSpecs(runner: string): void {
  const specs = (fs.readdirSync(__dirname, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.spec.ts') && runnerOf(f) === runner).sort();
  if (specs.length === 0) throw new Error(`no *.spec.ts under ${__dirname} for ${runner}`);
  for (const spec of specs) {
    describe(specName(spec), () => {
      try {
        require(path.join(__dirname, spec));
      } catch (e) {
        // A spec that fails to load fails alone, by name, instead of taking every other spec down with it.
        test('loads', () => { throw e; });
      }
    });
  }
}
