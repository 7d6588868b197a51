#!/usr/bin/env node
// `npm run vendor`: fetches the Helm charts into vendor/charts/ and writes vendor/charts.lock.yaml (lib/vendor.ts).
'use strict';
require('./app').load().vendorMain(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e) => { process.stderr.write(`vendor failed; vendor/ was left as it was.\n${e && e.stack || e}\n`); process.exitCode = 1; },
);
