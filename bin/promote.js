#!/usr/bin/env node
// `npm run promote -- <workload> --from <env> --to <env>`: an image tag or chart version between environments (lib/promote.ts).
'use strict';
Promise.resolve(require('./app').load().promoteMain(process.argv.slice(2))).then((code) => { process.exitCode = code; });
