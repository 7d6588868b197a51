#!/usr/bin/env node
// `npm run set-image -- <workload> <tag>`: see lib/set-image.ts. Transpiled with esbuild like bin/app.js
// (no type-checking), into its own bundle, rebuilt only when a source file is newer than it.
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.join(__dirname, '..');
const outfile = path.join(root, 'dist', 'set-image.js');
const SOURCES = ['main.ts', 'lib', 'charts', 'imports', 'package-lock.json', 'bin/set-image.js'];

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

if (!upToDate()) {
  let bundle;
  try {
    bundle = require('esbuild').buildSync({
      entryPoints: [path.join(root, 'lib', 'set-image.ts')],
      bundle: true,
      packages: 'external',
      platform: 'node',
      target: 'node20',
      format: 'cjs',
      logLevel: 'error',
      write: false,
    }).outputFiles[0].contents;
  } catch (e) {
    process.stderr.write('set-image failed: the TypeScript app does not compile (see above); nothing was changed.\n');
    process.exit(1);
  }
  fs.mkdirSync(path.dirname(outfile), { recursive: true });
  const staged = `${outfile}.${process.pid}`;
  fs.writeFileSync(staged, bundle);
  fs.renameSync(staged, outfile);
}
process.exitCode = require(outfile).main(process.argv.slice(2));
