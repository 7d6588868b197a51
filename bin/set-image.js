#!/usr/bin/env node
// `npm run set-image -- <workload> <tag>`: CI's image bump (lib/set-image.ts).
'use strict';
Promise.resolve(require('./app').load().setImageMain(process.argv.slice(2))).then((code) => { process.exitCode = code; });
