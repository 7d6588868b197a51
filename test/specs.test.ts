// Every *.spec.ts under test/ (the components', the platform's and the validation's), run as one jest test file,
// each in a describe block named after it (`harbor`, `validation/cel`). Jest gives each test file its own module
// registry: as separate files, each of these loaded the app's modules again and built the lab platform again,
// about 0.55 s apiece and half of their time. Together they load and build once (test/helpers.ts keeps the lab).
// A spec must therefore leave nothing behind for the next: no module mocks (those stay in a *.test.ts of their
// own, like test/leaks.test.ts), environment variables and spies restored, the shared lab platform never added to.
// One spec: `npm test -- test/harbor.spec.ts` (scripts/test.js turns it into this file and `-t '^(harbor) '`).
import * as fs from 'fs';
import * as path from 'path';
// First, so that its cleanup of temporary folders runs after every spec, not after the first that loads it.
import './helpers';

const specs = (fs.readdirSync(__dirname, { recursive: true }) as string[]).filter((f) => f.endsWith('.spec.ts')).sort();
if (specs.length === 0) throw new Error(`no *.spec.ts under ${__dirname}`);
for (const spec of specs) {
  describe(spec.replace(/\.spec\.ts$/, ''), () => {
    try {
      require(path.join(__dirname, spec));
    } catch (e) {
      // A spec that fails to load fails alone, by name, instead of taking every other spec down with it.
      test('loads', () => { throw e; });
    }
  });
}
