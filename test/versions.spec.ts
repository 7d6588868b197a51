// One versions source: versions.yaml. Every other place a chart version shows up must agree with it: the
// environments' chartVersion overrides, the Applications' sources, vendor/ (lock and archives), the
// generated values types, the CRD bindings in imports/, cdk8s.yaml's comment and schemas/crds.json.
// `disagreements` reads all of them from a snapshot of the repo; the first test runs it on the repo as
// it is, the others on edited snapshots, so that every check is seen failing.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { KEEP } = require('../scripts/trim-imports') as { KEEP: Record<string, string[]> };
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { HelmChartSource } from '../lib/component';
import { ConfigError, configFiles, parseConfig } from '../lib/config';
import { composePlatform } from '../charts/platform';
import { chartComponents } from '../lib/platform';
import { chartSource, overrideProblem, parseVersions, Versions, vendoredSources } from '../lib/versions';
import { labConfig } from './helpers';

const ROOT = path.join(__dirname, '..');
const read = (...p: string[]) => fs.readFileSync(path.join(ROOT, ...p), 'utf8');
const firstLine = (text: string) => text.slice(0, text.indexOf('\n'));

/** Everything the checks read, as text, so a test can edit one piece. */
interface Snapshot {
  versions: string;
  /** config file -> its text */
  configs: Record<string, string>;
  lock: string;
  /** vendor/charts/<file> -> sha256 of the archive on disk (undefined: missing) */
  archives: Record<string, string | undefined>;
  /** lib/helm-values/<file> -> first line */
  valuesTypes: Record<string, string>;
  /** lib/helm-values/index.ts */
  valuesIndex: string;
  /** imports/<file> -> first line */
  imports: Record<string, string>;
  cdk8sYaml: string;
  /** schemas/crds.json, parsed, without its kinds' schemas */
  crds: { sources: string[]; versions: Record<string, string>; defaults: string[]; kinds: string[] };
}

function snapshot(): Snapshot {
  const lock = read('vendor', 'charts.lock.yaml');
  const archives: Record<string, string | undefined> = {};
  for (const c of (yaml.load(lock) as { charts: { file: string }[] }).charts) {
    const file = path.join(ROOT, c.file);
    archives[c.file] = fs.existsSync(file) ? createHash('sha256').update(fs.readFileSync(file)).digest('hex') : undefined;
  }
  const firstLines = (dir: string) => Object.fromEntries(fs.readdirSync(path.join(ROOT, dir)).filter((f) => f.endsWith('.ts'))
    .map((f) => [f, firstLine(read(dir, f))]));
  const crds = JSON.parse(read('schemas', 'crds.json'));
  return {
    versions: read('versions.yaml'),
    configs: Object.fromEntries(configFiles(path.join(ROOT, 'config')).map((f) => [path.relative(ROOT, f), fs.readFileSync(f, 'utf8')])),
    lock,
    archives,
    valuesTypes: firstLines('lib/helm-values'),
    valuesIndex: read('lib', 'helm-values', 'index.ts'),
    imports: firstLines('imports'),
    cdk8sYaml: read('cdk8s.yaml'),
    crds: { sources: crds.sources, versions: crds.versions, defaults: crds.defaults, kinds: Object.keys(crds.kinds) },
  };
}

const sameSource = (a: HelmChartSource, b: HelmChartSource) => a.repoURL.replace(/\/+$/, '') === b.repoURL.replace(/\/+$/, '') && a.chart === b.chart && a.version === b.version;
const describe_ = (s: HelmChartSource) => `${s.chart} ${s.version} (${s.repoURL})`;

/** Every way the snapshot disagrees with its versions.yaml, one line each; [] when all agree. */
function disagreements(s: Snapshot): string[] {
  const problems: string[] = [];
  const v: Versions = parseVersions(s.versions);
  const charts = Object.entries(v.charts);

  // 1. Environments: a chartVersion override must be listed (config's own check), and every Application
  //    of every environment names a chart and version versions.yaml lists.
  for (const [file, text] of Object.entries(s.configs)) {
    const raw = yaml.load(text) as Record<string, { chartVersion?: string; backend?: string }>;
    for (const [section, value] of Object.entries(raw)) {
      if (typeof value?.chartVersion !== 'string') continue;
      const problem = overrideProblem(section, value.chartVersion, raw.secrets?.backend, v);
      if (problem) problems.push(`${file}: ${section}.chartVersion: ${problem}`);
    }
    let sources: HelmChartSource[] = [];
    try {
      sources = chartComponents(composePlatform(parseConfig(text, file))).map((c) => c.source);
    } catch (e) {
      problems.push(`${file}: ${(e as Error).message}`);
    }
    for (const src of sources) {
      const listed = charts.some(([, c]) => sameSource(src, { repoURL: c.repoURL, chart: c.chart, version: src.version }) && src.version in c.versions);
      if (!listed) problems.push(`${file}: an Application names chart ${describe_(src)}, which versions.yaml does not list`);
    }
  }

  // 2. vendor/: every listed version is locked, with its archive present and intact; nothing else is.
  const lock = (yaml.load(s.lock) as { charts: (HelmChartSource & { file: string; sha256?: string; subcharts: { name: string; version: string }[] })[] }).charts;
  const wanted = vendoredSources(v);
  for (const src of wanted) {
    const entry = lock.find((l) => sameSource(l, src));
    if (!entry) problems.push(`vendor/charts.lock.yaml: no entry for ${describe_(src)}; run npm run vendor`);
    else if (!/^[0-9a-f]{64}$/.test(entry.sha256 ?? '')) problems.push(`vendor/charts.lock.yaml: ${describe_(src)} has no sha256; run npm run vendor`);
    else if (s.archives[entry.file] !== entry.sha256) problems.push(`${entry.file}: ${s.archives[entry.file] ? 'its sha256 differs from the lock' : 'missing'}; run npm run vendor`);
  }
  for (const l of lock) {
    if (!wanted.some((w) => sameSource(w, l))) problems.push(`vendor/charts.lock.yaml: locks ${describe_(l)}, which versions.yaml does not list (or marks vendored: false)`);
  }
  // A subchart's version is the one its parent's archive packages.
  for (const [key, c] of charts) {
    if (!c.subchartOf) continue;
    const parent = v.charts[c.subchartOf];
    const entry = parent && lock.find((l) => sameSource(l, { repoURL: parent.repoURL, chart: parent.chart, version: parent.default }));
    const packaged = entry?.subcharts.find((sc) => sc.name === c.chart)?.version;
    if (packaged !== c.default) problems.push(`versions.yaml: charts.${key} is ${c.default}, but ${c.subchartOf} ${parent?.default} packages ${c.chart} ${packaged ?? '(none)'}`);
  }

  // 3. lib/helm-values/: one file per chart version that has values, generated from that version: the
  //    default's <chart>.ts, any other's <chart>@<version>.ts; index.ts maps each version to its type.
  const typed = new Set<string>();
  for (const [key, c] of charts) {
    for (const [version, inputs] of Object.entries(c.versions)) {
      if (!inputs.values) continue;
      const file = version === c.default ? `${key}.ts` : `${key}@${version}.ts`;
      typed.add(file);
      const want = `// Generated by scripts/gen-helm-values.js from the upstream values.yaml of ${key} ${version} (versions.yaml).`;
      const got = s.valuesTypes[file];
      if (got !== want) problems.push(`lib/helm-values/${file}: ${got === undefined ? 'missing' : `says "${got}"`}, not generated from ${key} ${version}; run npm run gen:helm-values`);
      // index.ts: the type imported from that file is the one its chart's <Type>ByVersion gives for the version.
      const imported = (f: string) => new RegExp(`import type \\{ (\\w+) \\} from '\\./${f.replace(/\.ts$/, '').replace(/\./g, '\\.')}';`).exec(s.valuesIndex)?.[1];
      const block = new RegExp(`export interface ${imported(`${key}.ts`)}ByVersion \\{\\n([^}]*)\\}`).exec(s.valuesIndex)?.[1] ?? '';
      const mapped = new RegExp(`readonly "${version.replace(/\./g, '\\.')}": (\\w+);`).exec(block)?.[1];
      if (mapped === undefined || mapped !== imported(file)) problems.push(`lib/helm-values/index.ts: has no values type of ${key} ${version}; run npm run gen:helm-values`);
    }
  }
  for (const f of Object.keys(s.valuesTypes)) {
    if (f !== 'index.ts' && !typed.has(f)) problems.push(`lib/helm-values/${f}: no chart version of versions.yaml names it; remove it or run npm run gen:helm-values`);
  }

  // 4. imports/: every module a default version's CRDs feed names that file and version; no other module.
  const modules = new Map<string, string>([['k8s.ts', '']]);
  for (const [key, c] of charts) {
    const crds = c.versions[c.default].crds;
    for (const m of crds?.imports ?? []) {
      modules.set(`${m}.ts`, `// generated by cdk8s from crds/${crds!.file} of ${key} ${c.default} (versions.yaml); run \`npm run import\``);
    }
  }
  for (const [key, c] of Object.entries(v.crds)) {
    for (const m of c.imports) modules.set(`${m}.ts`, `// generated by cdk8s from crds/${c.file} of ${key} ${c.version} (versions.yaml); run \`npm run import\``);
  }
  for (const [file, want] of modules) {
    // A module none of whose kinds the platform uses is dropped by the trim step of npm run import.
    if (file === 'k8s.ts' || !(file.replace(/\.ts$/, '') in KEEP)) continue;
    const got = s.imports[file];
    if (got !== want) problems.push(`imports/${file}: ${got === undefined ? 'missing' : `says "${got}"`}, not "${want}"; run npm run import`);
  }
  for (const f of Object.keys(s.imports)) {
    if (!modules.has(f)) problems.push(`imports/${f}: versions.yaml names no CRDs for it; add it to a chart's crds.imports or remove it`);
  }
  // cdk8s.yaml points at versions.yaml: a version written into its comment would be a second source.
  for (const line of s.cdk8sYaml.split('\n')) {
    const found = /^\s*#.*?\b(v?\d+\.\d+\.\d+)\b/.exec(line);
    if (found) problems.push(`cdk8s.yaml: the comment names version ${found[1]} ("${line.trim()}"); versions live in versions.yaml only`);
  }

  // 5. schemas/crds.json: made from exactly the CRD files of every listed version, each file's kinds under
  //    its name, and `defaults` the files of the default versions (what an environment without overrides uses).
  const crdFiles: Record<string, string> = {};
  const defaults: string[] = [];
  for (const [key, c] of charts) {
    for (const [version, inputs] of Object.entries(c.versions)) {
      if (!inputs.crds) continue;
      crdFiles[inputs.crds.file] = `${key} ${version}`;
      if (version === c.default) defaults.push(inputs.crds.file);
    }
  }
  for (const [key, c] of Object.entries(v.crds)) { crdFiles[c.file] = `${key} ${c.version}`; defaults.push(c.file); }
  const want = Object.fromEntries(Object.keys(crdFiles).sort().map((f) => [f, crdFiles[f]]));
  if (JSON.stringify(s.crds.versions) !== JSON.stringify(want)) {
    problems.push(`schemas/crds.json: made from ${JSON.stringify(s.crds.versions)}, versions.yaml says ${JSON.stringify(want)}; run npm run gen:schemas`);
  }
  if (JSON.stringify(s.crds.sources) !== JSON.stringify(Object.keys(want).map((f) => `crds/${f}`))) {
    problems.push(`schemas/crds.json: sources ${s.crds.sources.join(', ')} are not the files of versions.yaml; run npm run gen:schemas`);
  }
  if (JSON.stringify(s.crds.defaults) !== JSON.stringify(defaults.sort())) {
    problems.push(`schemas/crds.json: defaults ${s.crds.defaults.join(', ')} are not the files of the default versions (${defaults.join(', ')}); run npm run gen:schemas`);
  }
  for (const kind of s.crds.kinds) {
    const file = kind.slice(0, kind.indexOf(' '));
    if (!(file in want)) problems.push(`schemas/crds.json: ${kind} comes from ${file}, which versions.yaml does not name; run npm run gen:schemas`);
  }
  for (const file of Object.keys(want)) {
    if (!s.crds.kinds.some((k) => k.startsWith(`${file} `))) problems.push(`schemas/crds.json: holds no kind of ${file} (${want[file]}); run npm run gen:schemas`);
  }
  return problems;
}

describe('versions.yaml is the one source of chart versions', () => {
  const repo = snapshot();

  test('the repo agrees with it: configs, Applications, vendor/, values types, imports/, cdk8s.yaml, schemas/', () => {
    expect(disagreements(repo)).toEqual([]);
  });

  /** The problems of the repo with one piece edited. */
  const edited = (change: (s: Snapshot) => void) => {
    const copy: Snapshot = JSON.parse(JSON.stringify(repo));
    change(copy);
    return disagreements(copy);
  };
  const bumpCertManager = (s: Snapshot) => {
    s.versions = s.versions.replace('    default: v1.21.1\n    versions:\n      v1.21.1:', '    default: v1.22.0\n    versions:\n      v1.22.0:');
  };

  test('bumping cert-manager in versions.yaml alone fails on vendor/, the values types, imports/ and schemas/', () => {
    const problems = edited(bumpCertManager);
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringContaining('vendor/charts.lock.yaml: no entry for cert-manager v1.22.0'),
      expect.stringContaining('vendor/charts.lock.yaml: locks cert-manager v1.21.1'),
      expect.stringContaining('lib/helm-values/cert-manager.ts: says "// Generated by scripts/gen-helm-values.js from the upstream values.yaml of cert-manager v1.21.1'),
      expect.stringContaining('imports/cert-manager.io.ts: says "// generated by cdk8s from crds/cert-manager.crds.yaml of cert-manager v1.21.1'),
      expect.stringContaining('schemas/crds.json: made from'),
    ]));
  });

  test('a config chartVersion that versions.yaml does not list fails, naming file, field, allowed versions and fix', () => {
    const problems = edited((s) => { s.configs['config/lab.yaml'] = s.configs['config/lab.yaml'].replace('certManager:\n', 'certManager:\n  chartVersion: v1.22.0\n'); });
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^config\/lab\.yaml: certManager\.chartVersion: v1\.22\.0 is not a version versions\.yaml lists for charts\.cert-manager \(allowed: v1\.21\.1\); .*add v1\.22\.0 under versions there and run npm run vendor/),
    ]));
    // parseConfig refuses it too, so synth never starts with it.
    expect(() => labConfig((r) => { r.certManager.chartVersion = 'v1.22.0'; })).toThrow(ConfigError);
    expect(() => labConfig((r) => { r.certManager.chartVersion = 'v1.22.0'; })).toThrow(/config\/lab\.yaml: invalid platform config\n {2}- certManager\.chartVersion: v1\.22\.0 is not a version versions\.yaml lists for charts\.cert-manager \(allowed: v1\.21\.1\)/);
  });

  test('a missing or modified archive, or a lock entry without sha256, fails', () => {
    expect(edited((s) => { s.archives['vendor/charts/keda-2.20.2.tgz'] = undefined; })).toEqual(['vendor/charts/keda-2.20.2.tgz: missing; run npm run vendor']);
    expect(edited((s) => { s.archives['vendor/charts/keda-2.20.2.tgz'] = '0'.repeat(64); })).toEqual(['vendor/charts/keda-2.20.2.tgz: its sha256 differs from the lock; run npm run vendor']);
    const noSha = edited((s) => { s.lock = s.lock.replace(/(file: vendor\/charts\/keda-2\.20\.2\.tgz\n) +sha256: \S+\n/, '$1'); });
    expect(noSha).toEqual(['vendor/charts.lock.yaml: keda 2.20.2 (https://kedacore.github.io/charts) has no sha256; run npm run vendor']);
  });

  test('a subchart version other than the one its parent packages fails', () => {
    expect(edited((s) => { s.versions = s.versions.replace(/default: 12\.11\.1\n(\s+)versions:\n(\s+)12\.11\.1:/, 'default: 12.12.0\n$1versions:\n$212.12.0:'); }))
      .toEqual(expect.arrayContaining([expect.stringContaining('versions.yaml: charts.grafana is 12.12.0, but kube-prometheus-stack 88.5.3 packages grafana 12.11.1')]));
  });

  test('a values type, binding or schema bundle generated from another version fails', () => {
    expect(edited((s) => { s.valuesTypes['istiod.ts'] = s.valuesTypes['istiod.ts'].replace('1.24.2', '1.30.3'); }))
      .toEqual([expect.stringContaining('lib/helm-values/istiod.ts: says')]);
    expect(edited((s) => { s.imports['networking.istio.io.ts'] = s.imports['networking.istio.io.ts'].replace('istio.crds.yaml of istio-base 1.24.2', 'istio-1.30.crds.yaml of istio-base 1.30.3'); }))
      .toEqual([expect.stringContaining('imports/networking.istio.io.ts: says')]);
    expect(edited((s) => { s.imports['policy.networking.k8s.io.ts'] = '// generated by cdk8s'; }))
      .toEqual([expect.stringContaining('imports/policy.networking.k8s.io.ts: versions.yaml names no CRDs for it')]);
    expect(edited((s) => { s.crds.versions['istio-1.31.crds.yaml'] = 'istio-base 1.31.0'; s.crds.sources.push('crds/istio-1.31.crds.yaml'); }))
      .toEqual([expect.stringContaining('schemas/crds.json: made from'), expect.stringContaining('schemas/crds.json: sources')]);
    expect(edited((s) => { s.crds.kinds.push('istio-1.31.crds.yaml networking.istio.io/v1/Sidecar'); }))
      .toEqual([expect.stringContaining('schemas/crds.json: istio-1.31.crds.yaml networking.istio.io/v1/Sidecar comes from istio-1.31.crds.yaml')]);
    expect(edited((s) => { s.cdk8sYaml += '#   cert-manager.io.ts   cert-manager/cert-manager v1.21.1\n'; }))
      .toEqual([expect.stringContaining('cdk8s.yaml: the comment names version v1.21.1')]);
  });

  test('every listed version has its own values type and CRD schemas, not only the default', () => {
    // Istio 1.30.3 is listed next to the default 1.24.2: an environment on it is checked against its files.
    expect(edited((s) => { delete s.valuesTypes['istiod@1.30.3.ts']; }))
      .toEqual(['lib/helm-values/istiod@1.30.3.ts: missing, not generated from istiod 1.30.3; run npm run gen:helm-values']);
    expect(edited((s) => { s.valuesTypes['istiod@1.30.3.ts'] = s.valuesTypes['istiod.ts']; }))
      .toEqual([expect.stringMatching(/^lib\/helm-values\/istiod@1\.30\.3\.ts: says ".*istiod 1\.24\.2 \(versions\.yaml\)\.", not generated from istiod 1\.30\.3/)]);
    expect(edited((s) => { s.valuesIndex = s.valuesIndex.replace(/  readonly "1\.30\.3": IstiodValues_1_30_3;\n/, ''); }))
      .toEqual(['lib/helm-values/index.ts: has no values type of istiod 1.30.3; run npm run gen:helm-values']);
    expect(edited((s) => { s.valuesTypes['istiod@1.29.0.ts'] = '// Generated by scripts/gen-helm-values.js from the upstream values.yaml of istiod 1.29.0 (versions.yaml).'; }))
      .toEqual(['lib/helm-values/istiod@1.29.0.ts: no chart version of versions.yaml names it; remove it or run npm run gen:helm-values']);
    // A version added to versions.yaml alone: its values type, its CRDs and its archive are missing.
    const added = edited((s) => {
      s.versions = s.versions.replace('      1.30.3:\n        values: istiod-1.30\n', '      1.30.3:\n        values: istiod-1.30\n      1.31.0:\n        values: istiod-1.31\n');
    });
    expect(added).toEqual(expect.arrayContaining([
      'lib/helm-values/istiod@1.31.0.ts: missing, not generated from istiod 1.31.0; run npm run gen:helm-values',
      expect.stringContaining('vendor/charts.lock.yaml: no entry for istiod 1.31.0'),
    ]));
    const crdsDropped = edited((s) => {
      s.crds.kinds = s.crds.kinds.filter((k) => !k.startsWith('istio-1.30.crds.yaml '));
      delete s.crds.versions['istio-1.30.crds.yaml'];
      s.crds.sources = s.crds.sources.filter((f) => f !== 'crds/istio-1.30.crds.yaml');
    });
    expect(crdsDropped).toEqual(expect.arrayContaining([
      expect.stringContaining('schemas/crds.json: made from'),
      'schemas/crds.json: holds no kind of istio-1.30.crds.yaml (istio-base 1.30.3); run npm run gen:schemas',
    ]));
    expect(edited((s) => { s.crds.defaults = s.crds.defaults.map((f) => (f === 'istio.crds.yaml' ? 'istio-1.30.crds.yaml' : f)).sort(); }))
      .toEqual([expect.stringContaining('schemas/crds.json: defaults')]);
  });

  test('an Application whose chart versions.yaml does not list fails', () => {
    // The Applications are built from the versions.yaml on disk; the edited one no longer lists their keda,
    // as a chart whose source is spelled out in charts/ instead of taken from versions.yaml would not be.
    expect(edited((s) => { s.versions = s.versions.replace('repoURL: https://kedacore.github.io/charts', 'repoURL: https://example.org/charts'); }))
      .toEqual(expect.arrayContaining([expect.stringContaining('config/lab.yaml: an Application names chart keda 2.20.2 (https://kedacore.github.io/charts), which versions.yaml does not list')]));
  });
});

describe('an environment may run another version only through versions.yaml', () => {
  // Istio 1.30.3 is listed for the three Istio charts next to the default 1.24.2.
  test('the override is the version of every chart its config section names', () => {
    expect(overrideProblem('istio', '1.30.3')).toBeUndefined();
    expect(chartSource('istiod', '1.30.3')).toEqual({ repoURL: 'https://istio-release.storage.googleapis.com/charts', chart: 'istiod', version: '1.30.3' });
    expect(chartSource('istiod').version).toBe('1.24.2');
  });

  test('a version listed for only some of those charts is refused, naming the others', () => {
    const v = parseVersions(read('versions.yaml'));
    const only = (key: string): Versions => ({
      ...v,
      charts: Object.fromEntries(Object.entries(v.charts).map(([k, c]) => [k, k.startsWith('istio') && k !== key
        ? { ...c, versions: Object.fromEntries(Object.entries(c.versions).filter(([ver]) => ver !== '1.30.3')) } : c])),
    });
    expect(overrideProblem('istio', '1.30.3', undefined, only('istiod'))).toMatch(/^1\.30\.3 is not a version versions\.yaml lists for charts\.istio-base, charts\.istio-gateway \(allowed: 1\.24\.2\)/);
  });

  test('secrets.chartVersion is checked against the chart of the chosen backend', () => {
    expect(overrideProblem('secrets', '2.18.0', 'sealed-secrets')).toBeUndefined();
    expect(overrideProblem('secrets', '2.18.0', 'external-secrets')).toMatch(/charts\.external-secrets \(allowed: 2\.9\.0\)/);
  });

  test('chartSource refuses a version that is not listed', () => {
    expect(() => chartSource('keda', '9.9.9')).toThrow('chart keda 9.9.9 is not in versions.yaml (charts.keda.versions: 2.20.2); add it there, then run npm run vendor');
  });
});
