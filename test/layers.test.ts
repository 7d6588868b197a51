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
    for (const m of fs.readFileSync(file, 'utf8').matchAll(/(?:from|require\()\s*'(\.{1,2}\/[^']+)'/g)) {
      out.push([file, path.resolve(path.dirname(file), m[1])]);
    }
  }
  return out;
}

describe('layers', () => {
  test.each(['lib', 'charts'])('%s/ imports nothing from a higher layer', (folder) => {
    const upward = imports(folder).filter(([from, to]) => layerOf(to) > layerOf(from))
      .map(([from, to]) => `${path.relative(ROOT, from)} -> ${path.relative(ROOT, to)}`);
    expect(upward).toEqual([]);
  });

  test('only charts/platform.ts knows every component; no other component file imports it', () => {
    const users = imports('charts').filter(([, to]) => to === path.join(ROOT, 'charts', 'platform'));
    expect(users).toEqual([]);
  });
});
