// Loads the app for the command-line entry points: esbuild transpiles main.ts (no type-checking: `npm run
// typecheck` and the tests do that) into dist/main.js, rebuilt only when a source file is newer than it,
// which saves esbuild's ~0.2 s of parsing imports/ on every run.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const outfile = path.join(root, 'dist', 'main.js');

/** Exits 1 with one message: what is wrong with the installation, and the fix. */
function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

/** The folder of an installed package, as Node would find it from the project root, or undefined. */
function installed(name) {
  for (let dir = root; ; dir = path.dirname(dir)) {
    const p = path.join(dir, 'node_modules', name);
    if (fs.existsSync(path.join(p, 'package.json'))) return p;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/**
 * Refuses to start without the project's dependencies (package.json `dependencies`) at the versions it
 * pins: a missing node_modules/ would otherwise surface as a compile error or a stack trace.
 */
function checkDependencies() {
  let pkg;
  try {
    pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  } catch (e) {
    fail(`cannot read ${path.join(root, 'package.json')} (${e.code || e.message}); this command runs from a checkout of the project`);
  }
  const missing = [];
  const stale = [];
  for (const [name, wanted] of Object.entries(pkg.dependencies || {})) {
    const dir = installed(name);
    if (!dir) {
      missing.push(name);
      continue;
    }
    if (!/^\d+\.\d+\.\d+$/.test(wanted)) continue;
    try {
      const version = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
      if (version !== wanted) stale.push(`${name} ${version} (package.json pins ${wanted})`);
    } catch {
      missing.push(name);
    }
  }
  if (missing.length === 0 && stale.length === 0) return;
  const what = !fs.existsSync(path.join(root, 'node_modules'))
    ? `the dependencies are not installed (no node_modules/ in ${root})`
    : [missing.length > 0 ? `not installed: ${missing.join(', ')}` : '', stale.length > 0 ? `installed at another version: ${stale.join(', ')}` : '']
      .filter(Boolean).join('; ');
  fail(`${what}.\nRun \`npm ci\` in ${root}, then run the command again; nothing was written.`);
}
const SOURCES = ['main.ts', 'lib', 'charts', 'imports', 'package-lock.json', 'bin/app.js'];

function newestSource() {
  let newest = 0;
  const visit = (p) => {
    const st = fs.statSync(p);
    if (st.isDirectory()) for (const e of fs.readdirSync(p)) visit(path.join(p, e));
    else newest = Math.max(newest, st.mtimeMs);
  };
  for (const s of SOURCES) if (fs.existsSync(path.join(root, s))) visit(path.join(root, s));
  return newest;
}

function upToDate() {
  try {
    return fs.statSync(outfile).mtimeMs >= newestSource();
  } catch {
    return false;
  }
}

/**
 * The compiled main module; exits 1 with a message when a dependency is missing ("run npm ci") or the
 * TypeScript does not compile.
 */
function load() {
  checkDependencies();
  if (!upToDate()) {
    let esbuild;
    try {
      esbuild = require('esbuild');
    } catch (e) {
      fail(`esbuild (a dev dependency, which builds dist/main.js from the TypeScript) is not installed: ${String(e.message).split('\n')[0]}.\n` +
        `Run \`npm ci\` in ${root}, then run the command again; nothing was written.`);
    }
    let bundle;
    try {
      bundle = esbuild.buildSync({
        entryPoints: [path.join(root, 'main.ts')],
        bundle: true,
        packages: 'external',
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        logLevel: 'error',
        write: false,
      }).outputFiles[0].contents;
    } catch (e) {
      // A compile error comes with esbuild's messages (printed above); anything else is the installation.
      if (!Array.isArray(e.errors) || e.errors.length === 0) {
        fail(`esbuild could not run: ${String(e.message).split('\n')[0]}.\nRun \`npm ci\` in ${root}, then run the command again; nothing was written.`);
      }
      fail('the TypeScript app does not compile (see above); nothing was written.');
    }
    // Written aside and renamed, so concurrent runs (tests, editors) never load a half-written file.
    try {
      require('../lib/atomic-write').writeFileAtomic(outfile, bundle);
    } catch (e) {
      // dist/ is only build output: without it, run the bundle from memory (every run transpiles again).
      process.stderr.write(`note: cannot write ${path.relative(process.cwd(), outfile)} (${e.code || e.message}); running the app without keeping it\n`);
      const Module = require('module');
      const m = new Module(outfile, module);
      m.filename = outfile;
      m.paths = Module._nodeModulePaths(path.dirname(outfile));
      m._compile(Buffer.from(bundle).toString('utf8'), outfile);
      return m.exports;
    }
  }
  try {
    return require(outfile);
  } catch (e) {
    // A package the bundle loads (they stay external) that the check above could not know of.
    const missing = e && e.code === 'MODULE_NOT_FOUND' && /Cannot find module '([^']+)'/.exec(String(e.message));
    if (missing && !missing[1].startsWith('.') && !path.isAbsolute(missing[1])) {
      fail(`a dependency is not installed: ${missing[1]}.\nRun \`npm ci\` in ${root}, then run the command again; nothing was written.`);
    }
    throw e;
  }
}

module.exports = { load };
