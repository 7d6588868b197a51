#!/usr/bin/env node
// `npm run plan`: what the synthesized gitops/ changes compared with a git ref, and the prune gate.
'use strict';
Promise.resolve(require('./app').load().planMain(process.argv.slice(2))).then((code) => { process.exitCode = code; });
