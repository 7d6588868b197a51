// The layers: imports/ <- lib/ <- charts/ (components, then charts/platform.ts) <- main.ts and bin/.
// A file may import only from its own layer or the ones before it.
import * as fs from 'fs';
import * as path from 'path';

const ROOT = path.join(__dirname, '..');
const LAYERS = ['imports', 'lib', 'charts', 'app'] as const;
const layerOf = (file: string): number => {
  const top = path.relative(ROOT, file).split(path.sep)[0];
  return top === 'main.ts' || top === 'bin' ? 3 : LAYERS.indexOf(top as typeof LAYERS[number]);
};

/** Every relative import of every .ts file in a folder, as [importing file, imported file]. */
function imports(folder: string): [string, string][] {
  const out: [string, string][] = [];
  for (const rel of fs.readdirSync(path.join(ROOT, folder), { recursive: true }) as string[]) {
    if (!rel.endsWith('.ts') && !rel.endsWith('.js')) continue;
    const file = path.join(ROOT, folder, rel);
    // Static imports, re-exports, require() and import(), with either quote.
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/(?:\bfrom|\brequire\(|\bimport\()\s*(['"`])(\.{1,2}\/[^'"`]+)\1/g)) {
      out.push([file, path.resolve(path.dirname(file), m[2])]);
    }
  }
  return out;
}

describe('layers', () => {
  test.each(['lib', 'charts'])('%s/ imports nothing from a higher layer', (folder) => {
    // The scan sees the folder's imports (an empty scan would pass anything).
    expect(imports(folder).length).toBeGreaterThan(20);
    const upward = imports(folder).filter(([from, to]) => layerOf(to) > layerOf(from))
      .map(([from, to]) => `${path.relative(ROOT, from)} -> ${path.relative(ROOT, to)}`);
    expect(upward).toEqual([]);
  });

  test('only charts/platform.ts knows every component; no other component file imports it', () => {
    const users = imports('charts').filter(([, to]) => to === path.join(ROOT, 'charts', 'platform'));
    expect(users).toEqual([]);
  });
});
