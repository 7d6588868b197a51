#!/usr/bin/env node
// Trims the generated bindings in imports/ to the kinds the platform uses (the last step of
// scripts/import-crds.sh). `cdk8s import` writes every kind of every CRD file (imports/argoproj.io.ts alone
// is 3.4 MB, for two kinds), and every `tsc` and every test run parses all of it. This keeps, per module,
// the API object classes listed in KEEP below and every declaration they reach (their props, the types
// and enums of those, the toJson_ functions), byte for byte as cdk8s generated them; it deletes the other
// declarations and the modules not listed.
//
// To use another kind: add it to its module's list, run `npm run import` (or only this script, if imports/
// still holds the untrimmed module) and commit imports/. Code that imports a kind that is not kept does
// not compile (`npm run typecheck`), and test/imports.spec.ts checks that imports/ holds exactly these kinds.
'use strict';
const fs = require('fs');
const path = require('path');

/** Module (file in imports/, without .ts) -> the API object kinds (classes) it keeps. */
const KEEP = {
  'argo-rollouts': ['AnalysisTemplate', 'Rollout'],
  'argoproj.io': ['AppProject', 'Application'],
  'bitnami.com': ['SealedSecret'],
  'cert-manager.io': ['Certificate', 'ClusterIssuer'],
  'external-secrets.io': ['ClusterSecretStore', 'ExternalSecret'],
  'gateway.networking.k8s.io': ['Gateway', 'HttpRoute', 'TlsRoute'],
  'k8s': [
    'KubeConfigMap', 'KubeDeployment', 'KubeIngress', 'KubeNamespace', 'KubeRole', 'KubeRoleBinding',
    'KubePodDisruptionBudget', 'KubeService', 'KubeServiceAccount', 'KubeStatefulSet',
  ],
  'keda.sh': ['ScaledObject'],
  'monitoring.coreos.com': ['PodMonitor'],
  'networking.istio.io': ['DestinationRule', 'Gateway', 'ServiceEntry', 'VirtualService'],
  'security.istio.io': ['AuthorizationPolicy', 'PeerAuthentication'],
  'telemetry.istio.io': ['Telemetry'],
};

/** Declarations kept although no kept kind reaches them: the helpers code uses directly. */
const ALSO_KEEP = {
  'k8s': ['IntOrString', 'Quantity'],
};

const MARK = '// trimmed by scripts/trim-imports.js to: ';

/** The name a top-level statement declares, or undefined (imports, expressions). */
function declaredName(ts, s) {
  if ((ts.isClassDeclaration(s) || ts.isInterfaceDeclaration(s) || ts.isEnumDeclaration(s) || ts.isFunctionDeclaration(s) ||
    ts.isTypeAliasDeclaration(s) || ts.isModuleDeclaration(s)) && s.name) return s.name.text;
  if (ts.isVariableStatement(s) && s.declarationList.declarations.length === 1 && ts.isIdentifier(s.declarationList.declarations[0].name)) {
    return s.declarationList.declarations[0].name.text;
  }
  return undefined;
}

/** Every identifier in `node` (an over-approximation of what it refers to: property names count too). */
function identifiers(ts, node, out = new Set()) {
  const visit = (n) => {
    if (ts.isIdentifier(n)) out.add(n.text);
    ts.forEachChild(n, visit);
  };
  visit(node);
  return out;
}

/**
 * The text of a generated module with only the declarations `roots` reach (and the imports they use).
 * Each kept statement keeps its exact text, doc comment and the blank lines before it.
 */
function trimModule(text, roots, fileName = 'module.ts') {
  const ts = require('typescript');
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const byName = new Map();
  for (const s of source.statements) {
    const name = declaredName(ts, s);
    if (name !== undefined) {
      if (byName.has(name)) throw new Error(`${fileName}: ${name} is declared twice`);
      byName.set(name, s);
    }
  }
  for (const r of roots) if (!byName.has(r)) throw new Error(`${fileName}: no declaration ${r} to keep (is the kind spelled as cdk8s names it?)`);
  const kept = new Set();
  const used = new Set();
  const queue = [...roots];
  while (queue.length > 0) {
    const name = queue.pop();
    if (kept.has(name)) continue;
    kept.add(name);
    for (const id of identifiers(ts, byName.get(name))) {
      used.add(id);
      if (byName.has(id) && !kept.has(id)) queue.push(id);
    }
  }
  let out = '';
  for (const s of source.statements) {
    const full = text.slice(s.getFullStart(), s.getEnd());
    if (ts.isImportDeclaration(s)) {
      // Only the imported names something kept uses (noUnusedLocals), in their original order.
      const named = s.importClause && s.importClause.namedBindings;
      if (!named || !ts.isNamedImports(named)) {
        out += full;
        continue;
      }
      const names = named.elements.map((e) => e.name.text).filter((n) => used.has(n));
      if (names.length === 0) continue;
      out += text.slice(s.getFullStart(), named.getStart()) + `{ ${names.join(', ')} }` + text.slice(named.getEnd(), s.getEnd());
      continue;
    }
    const name = declaredName(ts, s);
    if (name === undefined) throw new Error(`${fileName}: a top-level statement that declares nothing: ${full.trim().slice(0, 80)}`);
    if (kept.has(name)) out += full;
  }
  out += text.slice(source.statements.length > 0 ? source.statements[source.statements.length - 1].getEnd() : 0);
  // Say so at the top, below cdk8s's own first line.
  const mark = `${MARK}${roots.join(', ')}\n`;
  const firstLineEnd = out.indexOf('\n') + 1;
  return out.startsWith('// generated by') ? out.slice(0, firstLineEnd) + mark + out.slice(firstLineEnd) : mark + out;
}

/** The kinds (API object classes) a module file declares. */
function kindsOf(text) {
  return [...text.matchAll(/^export class (\w+) extends ApiObject \{/gm)].map((m) => m[1]).sort();
}

/** Trims every module of `dir` in place and deletes the modules KEEP does not list. Returns one line per file. */
function trimImports(dir) {
  const log = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.ts')).sort()) {
    const module = file.slice(0, -'.ts'.length);
    const p = path.join(dir, file);
    if (!Object.prototype.hasOwnProperty.call(KEEP, module)) {
      fs.rmSync(p);
      log.push(`removed imports/${file}: no kind of it is used (add it to KEEP in scripts/trim-imports.js to keep one)`);
      continue;
    }
    const text = fs.readFileSync(p, 'utf8');
    if (text.includes(MARK)) {
      const had = text.slice(text.indexOf(MARK) + MARK.length).split('\n')[0];
      const want = [...KEEP[module], ...(ALSO_KEEP[module] ?? [])].join(', ');
      if (had !== want) throw new Error(`imports/${file} is already trimmed (to ${had}); run \`npm run import\` to regenerate it with ${want}`);
      log.push(`imports/${file}: already trimmed`);
      continue;
    }
    const trimmed = trimModule(text, [...KEEP[module], ...(ALSO_KEEP[module] ?? [])], file);
    fs.writeFileSync(p, trimmed);
    log.push(`imports/${file}: ${kindsOf(trimmed).join(', ')} (${Math.round(text.length / 1024)} KiB -> ${Math.round(trimmed.length / 1024)} KiB)`);
  }
  return log;
}

module.exports = { KEEP, ALSO_KEEP, trimModule, kindsOf, trimImports };

if (require.main === module) {
  const { parseScriptArgs } = require('./args');
  const { positionals } = parseScriptArgs(`Usage: node scripts/trim-imports.js [<imports folder>]

Trims the modules of imports/ (or the given folder), as \`cdk8s import\` wrote them, to the kinds listed
in this script (KEEP), and removes the modules it does not list. Run by \`npm run import\`.
`, {}, { positionals: ['imports folder?'] });
  const dir = path.resolve(positionals[0] ?? path.join(__dirname, '..', 'imports'));
  for (const line of trimImports(dir)) console.log(line);
}
