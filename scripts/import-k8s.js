#!/usr/bin/env node
// Generates imports/k8s.ts, the typed Kubernetes 1.28 API objects, with cdk8s-cli's own k8s importer, offline:
// `cdk8s import k8s@1.28.0` fetches the API definitions from GitHub, so the importer is handed the pinned copy
// (../shared/k8s-schema/v1.28.0-definitions.json, or the file given as the first argument) instead.
// Why not cdk8s-plus-28's `k8s` export: it is the same generated code, but loading it defines every API class
// of Kubernetes on each synth (~90 ms); esbuild keeps only the classes we use from this ES module.
'use strict';
const fs = require('fs');
const path = require('path');

const { parseScriptArgs, requireInput } = require('./args');

const root = path.join(__dirname, '..');
const { positionals } = parseScriptArgs(`Usage: node scripts/import-k8s.js [<definitions.json>]

Writes imports/k8s.ts from the Kubernetes v1.28.0 API definitions
(default: ../shared/k8s-schema/v1.28.0-definitions.json).
`, {}, { positionals: ['definitions.json?'] });
const schemaFile = path.resolve(positionals[0] ?? path.join(root, '..', 'shared', 'k8s-schema', 'v1.28.0-definitions.json'));
requireInput(schemaFile, 'the Kubernetes 1.28 API definitions');

// cdk8s-cli exports no subpaths, so its files are required by path.
const cli = path.dirname(require.resolve('cdk8s-cli/package.json'));
const util = require(path.join(cli, 'lib', 'util.js'));
util.download = async () => fs.readFileSync(schemaFile, 'utf8');
const { ImportKubernetesApi } = require(path.join(cli, 'lib', 'import', 'k8s.js'));

new ImportKubernetesApi({ apiVersion: '1.28.0' })
  .import({ outdir: path.join(root, 'imports'), targetLanguage: 'typescript', classNamePrefix: 'Kube' })
  .then(() => console.log(`wrote imports/k8s.ts from ${path.relative(root, schemaFile)}`))
  .catch((e) => { console.error(e); process.exit(1); });
