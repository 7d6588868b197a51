#!/usr/bin/env node
// Generates the schema bundle that lib/validation checks every synthesized object against:
//   schemas/k8s-<minor>.json  one per Kubernetes minor (k8s-1.28.json ... k8s-1.36.json): that version's
//                             API definitions reachable from its API kinds, and `kinds`: apiVersion/kind ->
//                             definition name (from x-kubernetes-group-version-kind). Each environment
//                             names its minor (config `cluster.kubernetesVersion`) and is checked against it.
//   schemas/crds.json         `kinds`: `<file> <apiVersion>/<kind>` -> the openAPIV3Schema of every served
//                             version of the upstream CRDs of each file, with the CRD's name and scope;
//                             `versions`: the chart (or CRD source) and version each file is the CRDs of;
//                             `defaults`: the files of the default versions. An environment is checked
//                             against the files of the chart versions it runs (lib/validate-platform.ts
//                             `crdFilesOf`), the defaults unless it overrides a version
// Input: every ../shared/k8s-schema/v<major>.<minor>.<patch>-definitions.json and, of ../shared/crds, the
// files versions.yaml names for every listed version of each chart (and its CRD-only `crds:`), by default, or
//   node scripts/gen-schemas.js [--k8s <folder or definitions.json>] [--crds <folder of CRD YAML>]
//                               [--only k8s|crds] [--out <folder>] [--crd-file <file>...]
// The output is committed; synth and tests never read the inputs. Rerun it when a Kubernetes version or a
// CRD is added or upgraded (e.g. a new chart version), and commit schemas/. Given a folder of definitions,
// it also deletes the k8s-<minor>.json files of minors the folder no longer holds.
//
// The bundle keeps only what validation needs: descriptions, examples and patch hints are dropped, and so
// is the `status` of each CRD (the controller writes it; manifests do not carry it). The CRD schemas keep
// what their CEL rules need (lib/validation/cel.ts evaluates them as the API server does): the rules
// (x-kubernetes-validations), the defaults (the API server fills them in before it evaluates the rules)
// and the list and map types (a set or map list compares as the API server compares it). The Kubernetes
// definitions carry no CEL rules, so they drop all of that. To keep it small and quick to compile:
// - a CRD version whose schema equals an earlier one's is stored as `sameAs` that one (Istio's
//   v1/v1beta1/v1alpha3);
// - subtrees a CRD schema repeats (an Application's source, a pod template's affinity terms) are stored
//   once under the schema's `definitions` and referenced with `$ref: '#/definitions/s<sha1>'`.
// One rewrite makes the inputs usable, visible in the output (Go RE2 patterns such as `(?i)` are kept as
// they are; lib/validation/schema.ts turns them into JavaScript when it compiles, as it does for the CRDs
// that charts render):
// - the Kubernetes definitions RawExtension, FieldsV1 and Patch (type object, no properties, any
//   content) get x-kubernetes-preserve-unknown-fields, which is how the API server treats them.
// How unknown fields are treated (strictly), and which built-in kinds are cluster-scoped (the
// definitions do not say), is decided by lib/validation/schema.ts, not here.
// The output is deterministic: the same inputs give the same bytes.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const { parseScriptArgs, requireInput } = require('./args');
const { crdSetInputs, stamp } = require('./versions');

const shared = path.join(__dirname, '..', '..', 'shared');
const usage = `Usage: npm run gen:schemas -- [--k8s <folder or file>] [--crds <folder>] [--only k8s|crds] [--out <folder>]

Writes the schema bundle synth validates against: schemas/k8s-<minor>.json for every Kubernetes minor
(k8s-1.28.json ... k8s-1.36.json) and schemas/crds.json.
  --k8s <path>     a folder of Kubernetes API definitions named v<major>.<minor>.<patch>-definitions.json,
                   one bundle per minor (default: ../shared/k8s-schema, which holds 1.28 to 1.36); or one
                   such file, to write that minor's bundle only
  --crds <folder>  the folder of upstream CRD YAML files (default: ../shared/crds); the files read are
                   those versions.yaml names for each listed version of each chart
  --only <part>    k8s: write the k8s-<minor>.json files only; crds: write crds.json only
                   (default: both)
  --out <folder>   where to write (default: schemas)
  --crd-file <f>   read this file of the CRD folder instead of the files versions.yaml names (repeatable):
                   for a test fixture's bundle, e.g. of CRDs no environment installs yet
`;
const { values: args } = parseScriptArgs(usage, {
  k8s: { type: 'string' }, crds: { type: 'string' }, only: { type: 'string' }, out: { type: 'string' },
  'crd-file': { type: 'string', multiple: true },
});
if (args.only !== undefined && args.only !== 'k8s' && args.only !== 'crds') {
  process.stderr.write(`error: --only takes k8s or crds, not ${JSON.stringify(args.only)}\n\n${usage}`);
  process.exit(2);
}
const doK8s = args.only !== 'crds';
const doCrds = args.only !== 'k8s';
const k8sInput = path.resolve(args.k8s ?? path.join(shared, 'k8s-schema'));
const crdDir = path.resolve(args.crds ?? path.join(shared, 'crds'));
const outDir = path.resolve(args.out ?? path.join(__dirname, '..', 'schemas'));
if (doK8s) requireInput(k8sInput, 'the Kubernetes API definitions');
if (doCrds) requireInput(crdDir, 'the folder of upstream CRDs');

/** `v1.31.0-definitions.json` -> `1.31`; undefined for any other name. */
function minorOf(file) {
  const m = /^v(\d+)\.(\d+)\.\d+-definitions\.json$/.exec(path.basename(file));
  return m ? `${Number(m[1])}.${Number(m[2])}` : undefined;
}
const byVersion = (a, b) => {
  const [am, an] = a.split('.').map(Number);
  const [bm, bn] = b.split('.').map(Number);
  return am - bm || an - bn;
};
/** The definitions file of each minor, oldest first. */
const k8sInputs = new Map();
const k8sFromFolder = doK8s && fs.statSync(k8sInput).isDirectory();
if (doK8s) {
  const files = k8sFromFolder ? fs.readdirSync(k8sInput).sort().map((f) => path.join(k8sInput, f)) : [k8sInput];
  for (const file of files) {
    const minor = minorOf(file);
    if (!minor) {
      if (k8sFromFolder) continue;
      process.stderr.write(`error: ${file}: the definitions file must be named v<major>.<minor>.<patch>-definitions.json (e.g. v1.31.0-definitions.json): its name gives the version\n`);
      process.exit(1);
    }
    if (k8sInputs.has(minor)) {
      process.stderr.write(`error: two definitions files for Kubernetes ${minor} in ${k8sInput}: ${path.basename(k8sInputs.get(minor))} and ${path.basename(file)}; keep one\n`);
      process.exit(1);
    }
    k8sInputs.set(minor, file);
  }
  if (k8sInputs.size === 0) {
    process.stderr.write(`error: no v<major>.<minor>.<patch>-definitions.json in ${k8sInput}\n`);
    process.exit(1);
  }
}

// Schema keywords kept in the bundle; anything else is dropped (and must be listed in DROPPED).
const KEPT = new Set([
  '$ref', 'type', 'properties', 'additionalProperties', 'items', 'required', 'enum', 'const', 'format',
  'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength',
  'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'anyOf', 'oneOf',
  'allOf', 'not', 'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
]);
// Kept in CRD schemas only, for their CEL rules; dropped from the Kubernetes definitions.
const KEPT_FOR_CEL = new Set([
  'x-kubernetes-validations', 'default', 'x-kubernetes-list-type', 'x-kubernetes-list-map-keys', 'x-kubernetes-map-type',
]);
// The fields of a CEL rule the validator reads (a rule may carry others in later Kubernetes releases).
const RULE_FIELDS = ['rule', 'message', 'messageExpression', 'fieldPath', 'reason', 'optionalOldSelf'];
const DROPPED = new Set([
  'description', 'example', 'title', 'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key', 'x-kubernetes-unions', 'x-kubernetes-group-version-kind',
]);
const unknownKeywords = new Set();

/**
 * A compact copy of a schema node: validation keywords only; with `cel` (a CRD schema), also what its CEL
 * rules need (KEPT_FOR_CEL).
 */
function compact(node, where, cel = false) {
  if (Array.isArray(node)) return node.map((n, i) => compact(n, `${where}[${i}]`, cel));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key) || (!cel && KEPT_FOR_CEL.has(key))) continue;
    if (!KEPT.has(key) && !KEPT_FOR_CEL.has(key)) { unknownKeywords.add(`${key} (at ${where})`); continue; }
    switch (key) {
      case 'properties': {
        const props = {};
        for (const [name, sub] of Object.entries(value)) props[name] = compact(sub, `${where}.${name}`, cel);
        out.properties = props;
        break;
      }
      case 'items': case 'not': case 'anyOf': case 'oneOf': case 'allOf':
        out[key] = compact(value, `${where}/${key}`, cel);
        break;
      case 'additionalProperties':
        out[key] = typeof value === 'object' ? compact(value, `${where}/*`, cel) : value;
        break;
      case 'x-kubernetes-validations':
        out[key] = value.map((r) => Object.fromEntries(RULE_FIELDS.filter((f) => r[f] !== undefined).map((f) => [f, r[f]])));
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

function apiVersionOf(group, version) {
  return group ? `${group}/${version}` : version;
}

// ---- Kubernetes, one bundle per minor ----
const FREE_FORM = new Set([
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
]);
const REF = '#/definitions/';
// Kinds of the meta API (DeleteOptions, WatchEvent, Status, ...) are API plumbing, not manifests.
const PLUMBING = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

/** One minor's bundle: its kinds, and the definitions reachable from them, trimmed. */
function k8sBundle(file) {
  const k8sDefs = JSON.parse(fs.readFileSync(file, 'utf8')).definitions;
  const kinds = {};
  for (const [name, def] of Object.entries(k8sDefs)) {
    if (name.startsWith(PLUMBING)) continue;
    for (const gvk of def['x-kubernetes-group-version-kind'] ?? []) {
      kinds[`${apiVersionOf(gvk.group, gvk.version)}/${gvk.kind}`] = name;
    }
  }
  const reachable = new Set();
  const visit = (name) => {
    if (reachable.has(name)) return;
    if (!k8sDefs[name]) throw new Error(`${path.basename(file)}: dangling $ref to ${name}`);
    reachable.add(name);
    const walk = (n) => {
      if (Array.isArray(n)) return n.forEach(walk);
      if (n === null || typeof n !== 'object') return;
      if (typeof n.$ref === 'string') visit(n.$ref.slice(REF.length));
      Object.values(n).forEach(walk);
    };
    walk(k8sDefs[name]);
  };
  Object.values(kinds).forEach(visit);
  const definitions = {};
  for (const name of [...reachable].sort()) {
    const def = compact(k8sDefs[name], name);
    if (FREE_FORM.has(name)) def['x-kubernetes-preserve-unknown-fields'] = true;
    definitions[name] = def;
  }
  const sortedKinds = Object.fromEntries(Object.keys(kinds).sort().map((k) => [k, kinds[k]]));
  return { kinds: sortedKinds, definitions };
}

/** [minor, definitions file, bundle], oldest minor first. */
const k8sBundles = [...k8sInputs.keys()].sort(byVersion).map((minor) => [minor, k8sInputs.get(minor), k8sBundle(k8sInputs.get(minor))]);

// ---- CRDs ----
// Repeated subtrees of at least SHARE_MIN_CHARS characters are shared through `definitions`. Only
// subtrees in structural positions (properties, items, additionalProperties) are shared, never inside
// anyOf/oneOf/allOf/not: the validator makes structural object schemas strict, and branches not.
const SHARE_MIN_CHARS = 150;
function structuralChildren(node, visit) {
  if (node.properties) for (const k of Object.keys(node.properties)) visit(node.properties, k);
  if (node.items && !Array.isArray(node.items) && typeof node.items === 'object') visit(node, 'items');
  if (node.additionalProperties && typeof node.additionalProperties === 'object') visit(node, 'additionalProperties');
}
function share(schema) {
  const counts = new Map();
  const count = (node) => {
    const text = JSON.stringify(node);
    if (text.length >= SHARE_MIN_CHARS) counts.set(text, (counts.get(text) ?? 0) + 1);
    structuralChildren(node, (parent, key) => count(parent[key]));
  };
  count(schema);
  const definitions = {};
  const replace = (node) => {
    structuralChildren(node, (parent, key) => {
      const text = JSON.stringify(parent[key]);
      if ((counts.get(text) ?? 0) > 1) {
        const name = `s${crypto.createHash('sha1').update(text).digest('hex').slice(0, 10)}`;
        if (!definitions[name]) {
          definitions[name] = null; // marks it taken before recursing into it
          const copy = JSON.parse(text);
          replace(copy);
          definitions[name] = copy;
        }
        parent[key] = { $ref: `#/definitions/${name}` };
      } else {
        replace(parent[key]);
      }
    });
  };
  replace(schema);
  const names = Object.keys(definitions).sort();
  return names.length === 0 ? schema : { ...schema, definitions: Object.fromEntries(names.map((n) => [n, definitions[n]])) };
}

/** The key of a CRD version in the bundle: `istio.crds.yaml networking.istio.io/v1/Gateway`. */
const crdKey = (file, apiVersion, kind) => `${file} ${apiVersion}/${kind}`;

/** The CRD bundle: every served version of every CRD in the files versions.yaml names, per file. */
function crdBundle() {
  // The folder holds one file per chart version (istio.crds.yaml for 1.24.2, istio-1.30.crds.yaml for
  // 1.30.3): versions.yaml says which file is which version's; each is bundled on its own. --crd-file
  // bundles the named files instead (test fixtures), each as a default.
  const named = args['crd-file'];
  const inputs = (named ? named.map((file) => ({ file, key: file, isDefault: true })) : crdSetInputs())
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  const files = [...new Set(inputs.map((i) => i.file))];
  const versions = Object.fromEntries(inputs.map((i) => [i.file, named ? 'named by --crd-file' : stamp(i)]));
  const defaults = inputs.filter((i) => i.isDefault).map((i) => i.file);
  for (const f of files) {
    if (!fs.existsSync(path.join(crdDir, f))) {
      process.stderr.write(`error: ${path.join(crdDir, f)} does not exist; versions.yaml names it as the CRDs of ${versions[f]}: add the file (or pass --crds <folder>)\n`);
      process.exit(1);
    }
  }
  const crdKinds = {};
  const definedIn = new Map(); // apiVersion/kind -> [input, ...]
  const bySchema = new Map(); // schema JSON -> first key that holds it
  for (const input of inputs) {
    const file = input.file;
    for (const doc of yaml.loadAll(fs.readFileSync(path.join(crdDir, file), 'utf8'))) {
      if (!doc || doc.kind !== 'CustomResourceDefinition') continue;
      const { group, names, scope } = doc.spec;
      for (const version of doc.spec.versions) {
        if (!version.served) continue;
        const kindKey = `${apiVersionOf(group, version.name)}/${names.kind}`;
        // Two versions of one chart may define a kind; two charts (that one environment may run together) not.
        const other = (definedIn.get(kindKey) ?? []).find((i) => i.file === file || i.key !== input.key);
        if (other) {
          process.stderr.write(`error: ${kindKey} is defined twice in ${crdDir}: in ${other.file} and in ${file}; versions.yaml names both files; keep the kind in one of them (--only k8s writes the Kubernetes bundles without reading the CRDs)\n`);
          process.exit(1);
        }
        definedIn.set(kindKey, [...(definedIn.get(kindKey) ?? []), input]);
        const key = crdKey(file, apiVersionOf(group, version.name), names.kind);
        const full = compact(version.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, kindKey, true);
        if (full.properties) delete full.properties.status;
        const schema = share(full);
        const text = JSON.stringify(schema);
        const entry = { crd: doc.metadata.name, scope };
        if (bySchema.has(text)) entry.sameAs = bySchema.get(text);
        else { entry.schema = schema; bySchema.set(text, key); }
        crdKinds[key] = entry;
      }
    }
  }
  // A sameAs must name a key that holds the schema itself: true because the first holder is never a sameAs.
  return { files, versions, defaults, kinds: Object.fromEntries(Object.keys(crdKinds).sort().map((k) => [k, crdKinds[k]])) };
}
const crds = doCrds ? crdBundle() : undefined;

if (unknownKeywords.size > 0) {
  process.stderr.write(`gen-schemas: unknown schema keywords (add them to KEPT or DROPPED):\n  ${[...unknownKeywords].slice(0, 20).join('\n  ')}\n`);
  process.exit(1);
}

/** One line per entry of the top-level maps: compact, yet a changed kind is a one-line diff. */
function render(header, maps) {
  const parts = [`{${Object.entries(header).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}`];
  for (const [mapName, map] of Object.entries(maps)) {
    const lines = Object.entries(map).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`,${JSON.stringify(mapName)}:{\n${lines.join(',\n')}\n}`);
  }
  const text = `${parts.join('')}}\n`;
  JSON.parse(text);
  return text;
}

// Everything is rendered before anything is written: a failure leaves schemas/ as it was.
const note = 'Generated by scripts/gen-schemas.js; do not edit.';
const outputs = [];
for (const [minor, file, bundle] of k8sBundles) {
  outputs.push([`k8s-${minor}.json`, render({ generated: note, source: `k8s-schema/${path.basename(file)}` }, bundle)]);
}
if (crds) outputs.push(['crds.json', render({ generated: note, sources: crds.files.map((f) => `crds/${f}`), versions: crds.versions, defaults: crds.defaults }, { kinds: crds.kinds })]);

fs.mkdirSync(outDir, { recursive: true });
let total = 0;
for (const [file, text] of outputs) {
  fs.writeFileSync(path.join(outDir, file), text);
  total += Buffer.byteLength(text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), path.join(outDir, file))}: ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB\n`);
}
if (k8sFromFolder) {
  // The folder is the whole set of minors: a bundle of a minor it no longer holds goes.
  for (const f of fs.readdirSync(outDir).sort()) {
    const m = /^k8s-(\d+\.\d+)\.json$/.exec(f);
    if (m && !k8sInputs.has(m[1])) {
      fs.unlinkSync(path.join(outDir, f));
      process.stdout.write(`deleted ${path.relative(process.cwd(), path.join(outDir, f))}: ${path.basename(k8sInput)} holds no Kubernetes ${m[1]}\n`);
    }
  }
}
process.stdout.write(`${outputs.length} file${outputs.length === 1 ? '' : 's'}, ${(total / 1024).toFixed(0)} KiB\n`);
