#!/usr/bin/env node
// Generates the schema bundle that lib/validation checks every synthesized object against:
//   schemas/k8s-1.28.json  the Kubernetes 1.28 API definitions reachable from the API kinds, and
//                          `kinds`: apiVersion/kind -> definition name (from x-kubernetes-group-version-kind)
//   schemas/crds.json      `kinds`: apiVersion/kind -> the openAPIV3Schema of every served version of the
//                          upstream CRDs, with the CRD's name, scope and source file
// Input: ../shared/k8s-schema/v1.28.0-definitions.json and ../shared/crds/*.yaml by default, or
//   node scripts/gen-schemas.js [--k8s <definitions.json>] [--crds <folder of CRD YAML>] [--out <folder>]
// The output is committed; synth and tests never read the inputs. Rerun it when a CRD is added or
// upgraded (e.g. a new chart version), and commit schemas/.
//
// The bundle keeps only what validation needs: descriptions, defaults, examples, CEL rules
// (x-kubernetes-validations) and list/map/patch hints are dropped, and so is the `status` of each CRD
// (the controller writes it; manifests do not carry it). To keep it small and quick to compile:
// - a CRD version whose schema equals an earlier one's is stored as `sameAs` that one (Istio's
//   v1/v1beta1/v1alpha3);
// - subtrees a CRD schema repeats (an Application's source, a pod template's affinity terms) are stored
//   once under the schema's `definitions` and referenced with `$ref: '#/definitions/s<sha1>'`.
// Two rewrites make the inputs usable from JavaScript, both visible in the output:
// - Go RE2 `(?i)` patterns (which JavaScript cannot compile) become case-folded character classes;
//   the original is kept under x-go-pattern;
// - the Kubernetes definitions RawExtension, FieldsV1 and Patch (type object, no properties, any
//   content) get x-kubernetes-preserve-unknown-fields, which is how the API server treats them.
// How unknown fields are treated (strictly) is decided by lib/validation/schema.ts, not here.
// The output is deterministic: the same inputs give the same bytes.
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');

const { parseScriptArgs, requireInput } = require('./args');

const shared = path.join(__dirname, '..', '..', 'shared');
const { values: args } = parseScriptArgs(`Usage: npm run gen:schemas -- [--k8s <definitions.json>] [--crds <folder>] [--out <folder>]

Writes schemas/k8s-1.28.json and schemas/crds.json, the schema bundle synth validates against.
  --k8s <file>     the Kubernetes v1.28.0 API definitions (default: ../shared/k8s-schema/v1.28.0-definitions.json)
  --crds <folder>  the upstream CRD YAML files (default: ../shared/crds)
  --out <folder>   where to write (default: schemas)
`, { k8s: { type: 'string' }, crds: { type: 'string' }, out: { type: 'string' } });
const k8sFile = path.resolve(args.k8s ?? path.join(shared, 'k8s-schema', 'v1.28.0-definitions.json'));
const crdDir = path.resolve(args.crds ?? path.join(shared, 'crds'));
const outDir = path.resolve(args.out ?? path.join(__dirname, '..', 'schemas'));
requireInput(k8sFile, 'the Kubernetes 1.28 API definitions');
requireInput(crdDir, 'the folder of upstream CRDs');

// Schema keywords kept in the bundle; anything else is dropped (and must be listed in DROPPED).
const KEPT = new Set([
  '$ref', 'type', 'properties', 'additionalProperties', 'items', 'required', 'enum', 'const', 'format',
  'pattern', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength',
  'maxLength', 'minItems', 'maxItems', 'uniqueItems', 'minProperties', 'maxProperties', 'anyOf', 'oneOf',
  'allOf', 'not', 'nullable', 'x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
]);
const DROPPED = new Set([
  'description', 'default', 'example', 'title', 'x-kubernetes-validations', 'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys', 'x-kubernetes-map-type', 'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key', 'x-kubernetes-unions', 'x-kubernetes-group-version-kind',
]);
const unknownKeywords = new Set();

/** RE2's (?i) has no JavaScript inline form: fold every letter outside a character class instead. */
function jsPattern(pattern) {
  if (!pattern.includes('(?i)')) return pattern;
  let out = '';
  let inClass = false;
  const src = pattern.split('(?i)').join('');
  for (let i = 0; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') { out += c + (src[i + 1] ?? ''); i++; continue; }
    if (c === '[') inClass = true;
    else if (c === ']') inClass = false;
    if (!inClass && /[a-z]/i.test(c)) out += `[${c.toLowerCase()}${c.toUpperCase()}]`;
    else out += c;
  }
  return out;
}

/** A compact copy of a schema node: validation keywords only. */
function compact(node, where) {
  if (Array.isArray(node)) return node.map((n, i) => compact(n, `${where}[${i}]`));
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key)) continue;
    if (!KEPT.has(key)) { unknownKeywords.add(`${key} (at ${where})`); continue; }
    switch (key) {
      case 'properties': {
        const props = {};
        for (const [name, sub] of Object.entries(value)) props[name] = compact(sub, `${where}.${name}`);
        out.properties = props;
        break;
      }
      case 'items': case 'not': case 'anyOf': case 'oneOf': case 'allOf':
        out[key] = compact(value, `${where}/${key}`);
        break;
      case 'additionalProperties':
        out[key] = typeof value === 'object' ? compact(value, `${where}/*`) : value;
        break;
      case 'pattern': {
        const js = jsPattern(value);
        new RegExp(js, 'u'); // throws if JavaScript still cannot compile it
        out.pattern = js;
        if (js !== value) out['x-go-pattern'] = value;
        break;
      }
      default:
        out[key] = value;
    }
  }
  return out;
}

function apiVersionOf(group, version) {
  return group ? `${group}/${version}` : version;
}

// ---- Kubernetes 1.28 ----
const FREE_FORM = new Set([
  'io.k8s.apimachinery.pkg.runtime.RawExtension',
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
  'io.k8s.apimachinery.pkg.apis.meta.v1.Patch',
]);
const REF = '#/definitions/';
// Kinds of the meta API (DeleteOptions, WatchEvent, Status, ...) are API plumbing, not manifests.
const PLUMBING = 'io.k8s.apimachinery.pkg.apis.meta.v1.';

const k8sDefs = JSON.parse(fs.readFileSync(k8sFile, 'utf8')).definitions;
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
  if (!k8sDefs[name]) throw new Error(`dangling $ref to ${name}`);
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

const crdFiles = fs.readdirSync(crdDir).filter((f) => /\.ya?ml$/.test(f)).sort();
const crdKinds = {};
const bySchema = new Map(); // schema JSON -> first key that holds it
for (const file of crdFiles) {
  for (const doc of yaml.loadAll(fs.readFileSync(path.join(crdDir, file), 'utf8'))) {
    if (!doc || doc.kind !== 'CustomResourceDefinition') continue;
    const { group, names, scope } = doc.spec;
    for (const version of doc.spec.versions) {
      if (!version.served) continue;
      const key = `${apiVersionOf(group, version.name)}/${names.kind}`;
      if (crdKinds[key]) throw new Error(`${key} is defined twice (${file})`);
      const full = compact(version.schema?.openAPIV3Schema ?? { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, key);
      if (full.properties) delete full.properties.status;
      const schema = share(full);
      const text = JSON.stringify(schema);
      const entry = { crd: doc.metadata.name, scope, source: file };
      if (bySchema.has(text)) entry.sameAs = bySchema.get(text);
      else { entry.schema = schema; bySchema.set(text, key); }
      crdKinds[key] = entry;
    }
  }
}
const sortedCrdKinds = Object.fromEntries(Object.keys(crdKinds).sort().map((k) => [k, crdKinds[k]]));
// A sameAs must name a key that holds the schema itself: true because the first holder is never a sameAs.

if (unknownKeywords.size > 0) {
  process.stderr.write(`gen-schemas: unknown schema keywords (add them to KEPT or DROPPED):\n  ${[...unknownKeywords].slice(0, 20).join('\n  ')}\n`);
  process.exit(1);
}

/** One line per entry of the top-level maps: compact, yet a changed kind is a one-line diff. */
function write(file, header, maps) {
  const parts = [`{${Object.entries(header).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(',')}`];
  for (const [mapName, map] of Object.entries(maps)) {
    const lines = Object.entries(map).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`,${JSON.stringify(mapName)}:{\n${lines.join(',\n')}\n}`);
  }
  const text = `${parts.join('')}}\n`;
  JSON.parse(text);
  fs.mkdirSync(outDir, { recursive: true });
  fs.writeFileSync(path.join(outDir, file), text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), path.join(outDir, file))}: ${(text.length / 1024).toFixed(0)} KiB\n`);
}

const note = 'Generated by scripts/gen-schemas.js; do not edit.';
write('k8s-1.28.json', {
  generated: note,
  source: `k8s-schema/${path.basename(k8sFile)}`,
}, { kinds: sortedKinds, definitions });
write('crds.json', {
  generated: note,
  sources: crdFiles.map((f) => `crds/${f}`),
}, { kinds: sortedCrdKinds });
