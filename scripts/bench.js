#!/usr/bin/env node
// `npm run bench`: wall time and peak memory of synth, for the default platform and for synthetic configs
// with 10, 100 and 1,000 workload apps (each a Deployment, Service, Gateway, VirtualService and
// Certificate), through the project's synth command and through `npx cdk8s synth`, next to the floor:
// one node process that only parses the same gitops/ YAML and writes it back with js-yaml. For the default
// platform it also times a cold render (dist/render-cache emptied before each run: Helm renders every chart
// again, two rounds, in parallel) and a cold synth (every cache of dist/ emptied: renders, schema checks,
// values analyses, dumped YAML). With --tests it also times `npm test`, cold (as on a fresh clone after
// `npm ci`: dist/ and the jest cache emptied) and warm (the run right after), wall and CPU time.
//
//   npm run bench                       all sizes, 5 runs each
//   npm run bench -- --runs 3 --sizes default,100 --no-cdk8s
//   npm run bench -- --sizes none --tests 3     only npm test, 3 cold and 3 warm runs
'use strict';
const { spawnSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const yaml = require('js-yaml');

const ROOT = path.join(__dirname, '..');
const { parseScriptArgs } = require('./args');

const { values: opts } = parseScriptArgs(`Usage: npm run bench -- [--runs <n>] [--sizes <list>] [--no-cdk8s]

Median wall time and peak memory of synth for the default platform and for configs with extra workload
apps, through the project's synth command and npx cdk8s synth, next to a parse+dump floor.
  --runs <n>       runs per size and command (default: 5)
  --sizes <list>   comma-separated: default and numbers of apps (default: default,10,100,1000)
  --no-cdk8s       skip npx cdk8s synth
  --tests <n>      also time npm test: n cold runs (dist/ and the jest cache emptied), each followed by a
                   warm run (default: 0, not timed)
`, {
  runs: { type: 'string', default: '5' },
  sizes: { type: 'string', default: 'default,10,100,1000' },
  'no-cdk8s': { type: 'boolean', default: false },
  tests: { type: 'string', default: '0' },
});
const runs = Number(opts.runs);
const sizes = opts.sizes === 'none' ? [] : opts.sizes.split(',');
const testRuns = Number(opts.tests);
if (!Number.isInteger(runs) || runs < 1 || sizes.some((s) => s !== 'default' && !/^\d+$/.test(s)) || !Number.isInteger(testRuns) || testRuns < 0) {
  process.stderr.write('error: --runs takes a whole number of at least 1, --sizes "default" or numbers (e.g. default,10,100) or "none", --tests a whole number\n');
  process.exit(2);
}
// Inside the project (dist/ is build output), on the same file system as gitops/: this machine's /tmp
// writes small files ten times slower than the work tree, which would measure the disk, not the synth.
fs.mkdirSync(path.join(ROOT, 'dist'), { recursive: true });
const work = fs.mkdtempSync(path.join(ROOT, 'dist', 'bench-'));
process.on('exit', () => fs.rmSync(work, { recursive: true, force: true }));

/** The lab config with `n` extra workload apps. */
function configFor(size) {
  const raw = yaml.load(fs.readFileSync(path.join(ROOT, 'config', 'lab.yaml'), 'utf8'));
  if (size !== 'default') {
    const n = Number(size);
    const workloads = raw.apps.workloads ?? {};
    for (let i = 0; i < n; i++) {
      const name = `bench-${String(i).padStart(4, '0')}`;
      // Each: Deployment, Service, Gateway, VirtualService and Certificate (a public host via the mesh gateway).
      workloads[name] = { image: { repository: `harbor.${raw.domain}/msa/${name}`, tag: '1' }, port: 80, portName: 'http-web', version: 'v1', subdomain: name };
    }
    raw.apps.workloads = workloads;
  }
  const dir = path.join(work, `config-${size}`);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'lab.yaml');
  fs.writeFileSync(file, yaml.dump(raw));
  return file;
}

/** Runs a command under GNU time; returns wall ms and peak RSS MiB. */
function measure(argv, env = {}) {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%M', ...argv], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, CDK8S_CHECK_UPGRADE: 'false', ...env }, maxBuffer: 1 << 26,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) {
    process.stderr.write(`\ncommand failed: ${argv.join(' ')}\n${r.stdout}\n${r.stderr}\n`);
    process.exit(1);
  }
  const kb = Number(r.stderr.trim().split('\n').pop());
  return { ms, mib: kb / 1024 };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
/** Objects written: one per file, several in a multi-document file (bootstrap/argo-cd/install.yaml). */
const countFiles = (dir) => fs.readdirSync(dir, { recursive: true }).filter((f) => f.endsWith('.yaml'))
  .reduce((n, f) => n + yaml.loadAll(fs.readFileSync(path.join(dir, f), 'utf8')).filter(Boolean).length, 0);

const floorScript = path.join(work, 'floor.js');
fs.writeFileSync(floorScript, `
const fs = require('fs'), path = require('path'), yaml = require(${JSON.stringify(require.resolve('js-yaml'))});
const [src, dst] = process.argv.slice(2);
for (const rel of fs.readdirSync(src, { recursive: true })) {
  const from = path.join(src, rel);
  if (!rel.endsWith('.yaml')) continue;
  const to = path.join(dst, rel);
  fs.mkdirSync(path.dirname(to), { recursive: true });
  const docs = yaml.loadAll(fs.readFileSync(from, 'utf8'));
  fs.writeFileSync(to, docs.map((d) => yaml.dump(d, { lineWidth: -1, noRefs: true })).join('---\\n'));
}`);

const rows = [];
const modes = ['synth', ...(opts['no-cdk8s'] ? [] : ['cdk8s']), 'floor'];
const modesOf = (size) => (size === 'default' ? ['cold', 'cold-render', ...modes] : modes);
const total = sizes.reduce((n, s) => n + modesOf(s).length * runs, 0);
/** What a cold synth must redo: renders, schema checks, values analyses, dumped YAML (not Helm or the bundle). */
const COLD = ['render-cache', 'values-cache', 'yaml-cache', 'schema-cache.json'].map((p) => path.join(ROOT, 'dist', p));
/** What a cold render must redo: every chart's render. */
const COLD_RENDER = [path.join(ROOT, 'dist', 'render-cache')];
let done = 0;
for (const size of sizes) {
  const file = configFor(size);
  fs.rmSync(path.join(ROOT, 'dist', 'schema-cache.json'), { force: true });
  const out = path.join(work, `out-${size}`);
  const synthArgs = ['node', 'bin/synth.js', '--config', file, '--outdir', out, '--quiet'];
  for (const mode of modesOf(size)) {
    const samples = [];
    for (let i = 0; i < runs; i++) {
      process.stderr.write(`\r[${++done}/${total}] ${size === 'default' ? 'default platform' : `${size} apps`}: ${mode} run ${i + 1}/${runs}   `);
      if (mode === 'cold' || mode === 'cold-render') {
        for (const p of mode === 'cold' ? COLD : COLD_RENDER) fs.rmSync(p, { recursive: true, force: true });
        samples.push(measure(synthArgs));
      } else if (mode === 'synth') samples.push(measure(synthArgs));
      else if (mode === 'cdk8s') samples.push(measure(['npx', 'cdk8s', 'synth', '--app', synthArgs.join(' '), '--output', path.join(work, 'cdk8s.out')]));
      else samples.push(measure(['node', floorScript, out, path.join(work, `floor-${size}`)]));
    }
    rows.push({ size, mode, objects: countFiles(out), first: samples[0].ms, ms: median(samples.map((s) => s.ms)), mib: median(samples.map((s) => s.mib)) });
  }
}
process.stderr.write('\n\n');

const label = {
  cold: 'cold synth: every chart rendered, every object checked',
  'cold-render': 'cold render: every chart rendered by Helm',
  synth: 'project synth (node bin/synth.js)', cdk8s: 'npx cdk8s synth', floor: 'floor: parse + dump YAML',
};
if (rows.length > 0) {
  console.log(`median of ${runs} runs; node ${process.version}; ${os.cpus().length} cores\n`);
  console.log('| size | objects | command | wall, median (ms) | wall, first run (ms) | peak RSS (MiB) |');
  console.log('| --- | ---: | --- | ---: | ---: | ---: |');
  for (const r of rows) console.log(`| ${r.size} | ${r.objects} | ${label[r.mode]} | ${r.ms.toFixed(0)} | ${r.first.toFixed(0)} | ${r.mib.toFixed(0)} |`);
  console.log('\nThe first run of each size validates every object against its schema; later runs reuse dist/schema-cache.json\n' +
    'for unchanged objects (cross-reference checks always run) and dist/render-cache for unchanged charts. The cold rows\n' +
    'empty those caches before every run: Helm renders every chart again.');
}

if (testRuns > 0) benchTests(testRuns);

/**
 * `npm test`, cold and warm: each cold run starts as a fresh clone after `npm ci` does (everything in dist/
 * but this benchmark's folder, and jest's cache, removed: no renders, no values analyses, no tsc build
 * info, no transformed files, no unpacked Helm); the warm run follows it with every cache in place.
 */
function benchTests(n) {
  const jestBin = require.resolve('jest/bin/jest');
  const cold = [];
  const warm = [];
  const log = path.join(work, 'npm-test.log');
  // CPU time (user + system, of npm test and every process it waited for) besides wall time: on a shared
  // machine the wall time mostly measures the other jobs; CPU time / cores is what an idle machine needs
  // at least, when the work spreads over the cores.
  const cpuFile = path.join(work, 'npm-test.cpu');
  const timed = () => {
    const load = os.loadavg()[0];
    const t0 = process.hrtime.bigint();
    const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, 'npm', 'test'], { cwd: ROOT, stdio: ['ignore', fs.openSync(log, 'w'), fs.openSync(log, 'a')], env: { ...process.env, CI: 'true' } });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) {
      process.stderr.write(`\nnpm test failed (exit ${r.status}); its output:\n${fs.readFileSync(log, 'utf8')}\n`);
      process.exit(1);
    }
    const tests = /Tests:\s+(\d+) passed, (\d+) total/.exec(fs.readFileSync(log, 'utf8'));
    const [user, sys] = fs.readFileSync(cpuFile, 'utf8').trim().split('\n').pop().split(' ').map(Number);
    return { ms, cpu: (user + sys) * 1000, load: Math.max(load, os.loadavg()[0]), tests: tests ? Number(tests[2]) : undefined };
  };
  for (let i = 0; i < n; i++) {
    process.stderr.write(`\r[npm test] cold run ${i + 1}/${n}        `);
    for (const e of fs.readdirSync(path.join(ROOT, 'dist'))) {
      if (path.join(ROOT, 'dist', e) !== work) fs.rmSync(path.join(ROOT, 'dist', e), { recursive: true, force: true });
    }
    spawnSync(process.execPath, [jestBin, '--clearCache'], { cwd: ROOT, stdio: 'ignore' });
    cold.push(timed());
    process.stderr.write(`\r[npm test] warm run ${i + 1}/${n}        `);
    warm.push(timed());
  }
  process.stderr.write('\n\n');
  const s = (xs) => xs.map((x) => (x.ms / 1000).toFixed(1)).join(', ');
  const sec = (ms) => (ms / 1000).toFixed(1);
  const cores = os.cpus().length;
  console.log(`\nnpm test (tsc and jest, ${warm[0].tests ?? '?'} tests), ${n} cold and ${n} warm runs; node ${process.version}; ${cores} cores\n`);
  console.log(`| run | wall, median (s) | every run (s) | CPU, median (s) | CPU / ${cores} cores (s) | load average (1 min, highest) | target (s) |`);
  console.log('| --- | ---: | --- | ---: | ---: | ---: | ---: |');
  const row = (label, xs, target) => {
    const cpu = median(xs.map((x) => x.cpu));
    console.log(`| ${label} | ${sec(median(xs.map((x) => x.ms)))} | ${s(xs)} | ${sec(cpu)} | ${sec(cpu / cores)} | ${Math.max(...xs.map((x) => x.load)).toFixed(1)} | ${target} |`);
  };
  row('cold: fresh clone after npm ci (dist/ and jest cache emptied)', cold, 45);
  row('warm: the run after it', warm, 25);
  console.log(`\nCPU is user + system time of npm test and its children; CPU / ${cores} cores is the least wall time an idle machine\n` +
    'would need if the work spread evenly over the cores (the longest chain of work, e.g. tsc, may need more).');
  console.log(`\nload average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(', ')} (the machine is shared: other jobs count too)`);
}

const synthRow = (s) => rows.find((r) => r.size === s && r.mode === 'synth');
if (synthRow('100') && synthRow('1000')) {
  const a = synthRow('100');
  const b = synthRow('1000');
  const perApp = (b.ms - a.ms) / 900;
  console.log(`\ngrowth 100 -> 1000 apps: +${(b.ms - a.ms).toFixed(0)} ms (${perApp.toFixed(2)} ms per app), +${(b.mib - a.mib).toFixed(0)} MiB (${((b.mib - a.mib) / 900 * 1024).toFixed(0)} KiB per app)`);
}
