#!/usr/bin/env node
// `npm run validate`: the synth-time validation, over gitops/ as it is on disk.
'use strict';
process.exitCode = require('./app').load().validateMain(process.argv.slice(2));
