// versions.yaml for the generators (lib/versions.ts reads and checks it for synth and the tests): which
// upstream inputs each generated file is made from: values types and CRD schemas for every listed version
// of each chart, imports/ bindings from the default version's CRDs only.
//   node scripts/versions.js crd-files      the CRD files of ../shared/crds, one per line, that imports/ come from
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const FILE = path.join(__dirname, '..', 'versions.yaml');

function readVersions() {
  const v = yaml.load(fs.readFileSync(FILE, 'utf8'));
  if (!v || typeof v.charts !== 'object') throw new Error(`${FILE}: no charts`);
  for (const [key, c] of Object.entries(v.charts)) {
    if (!c.versions || !Object.prototype.hasOwnProperty.call(c.versions, c.default)) {
      throw new Error(`versions.yaml: charts.${key}.default (${c.default}) is not one of its versions`);
    }
  }
  return v;
}

/** `cert-manager` -> `CertManagerValues`. */
const typeName = (key) => `${key.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}Values`;

/** `1.30.3` -> `1_30_3`: a version as part of an identifier. */
const versionIdent = (version) => version.replace(/[^A-Za-z0-9]/g, '_');

/**
 * The values types to generate: one per listed version of each chart that names a values folder. The
 * default version's is `<key>.ts` with `<Chart>Values`; another version's `<key>@<version>.ts` with
 * `<Chart>Values_<version>` (`istiod@1.30.3.ts`, `IstiodValues_1_30_3`), so that an environment on that
 * version is type-checked against its own chart's values.
 */
function valuesInputs(v = readVersions()) {
  return Object.entries(v.charts).flatMap(([key, c]) => Object.entries(c.versions).flatMap(([version, inputs]) => {
    const folder = (inputs || {}).values;
    if (!folder) return [];
    const isDefault = version === c.default;
    return [{
      key, chart: c.chart, version, folder, isDefault,
      file: isDefault ? `${key}.ts` : `${key}@${version}.ts`,
      typeName: isDefault ? typeName(key) : `${typeName(key)}_${versionIdent(version)}`,
    }];
  }));
}

/**
 * The CRD files the bindings and schemas are made from: the `crds` of each chart's default version, then
 * the CRD-only sources of `crds:` (installed from vendor/crds/, not by a chart). `imports`: the imports/ modules the file feeds.
 */
function crdInputs(v = readVersions()) {
  const fromCharts = Object.entries(v.charts).flatMap(([key, c]) => {
    const crds = (c.versions[c.default] || {}).crds;
    return crds ? [{ key, version: c.default, file: crds.file, imports: crds.imports || [], upstream: crds.upstream || [] }] : [];
  });
  const only = Object.entries(v.crds || {}).map(([key, c]) => ({ key, version: c.version, file: c.file, imports: c.imports || [], upstream: [] }));
  return [...fromCharts, ...only];
}

/**
 * The CRD sets of schemas/crds.json: the `crds` of every listed version of each chart (`isDefault` for the
 * default version's), then the CRD-only sources of `crds:`. An environment is validated against the set of
 * each chart's version it runs.
 */
function crdSetInputs(v = readVersions()) {
  const fromCharts = Object.entries(v.charts).flatMap(([key, c]) => Object.entries(c.versions).flatMap(([version, inputs]) => {
    const crds = (inputs || {}).crds;
    return crds ? [{ key, version, file: crds.file, isDefault: version === c.default }] : [];
  }));
  const only = Object.entries(v.crds || {}).map(([key, c]) => ({ key, version: c.version, file: c.file, isDefault: true }));
  return [...fromCharts, ...only];
}

/** What a generated file says it was made from: `cert-manager v1.21.1`. */
const stamp = (input) => `${input.key} ${input.version}`;

module.exports = { FILE, readVersions, valuesInputs, crdInputs, crdSetInputs, stamp, typeName };

if (require.main === module) {
  const what = process.argv[2];
  if (what === 'crd-files') {
    for (const i of crdInputs()) if (i.imports.length > 0) process.stdout.write(`${i.file} ${stamp(i)} ${i.imports.join(',')}\n`);
  } else if (what === 'crd-upstream') {
    for (const i of crdInputs()) for (const u of i.upstream) process.stdout.write(`${i.file} ${u}\n`);
  } else {
    process.stderr.write('usage: node scripts/versions.js crd-files|crd-upstream\n');
    process.exit(2);
  }
}
