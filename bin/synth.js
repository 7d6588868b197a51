#!/usr/bin/env node
// `npm run synth`, and the `app` of cdk8s.yaml (so `npx cdk8s synth` takes the same fast path).
'use strict';
Promise.resolve(require('./app').load().main(process.argv.slice(2))).then((code) => { process.exitCode = code; });
