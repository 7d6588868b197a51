// The cdk8s CLI validation plugin declared in cdk8s.yaml, so `npx cdk8s synth` reports on every object it
// wrote. Plain JavaScript because the CLI `require`s it. The synth that wrote the manifests validated them
// before writing and stamped each file with its sha256 (validated.json); a file whose digest matches is
// reported from that stamp without loading anything else. Any other file is validated in full by the
// same checks (lib/validation, through the esbuild bundle of bin/app.js).
'use strict';
const crypto = require('crypto');
const fs = require('fs');
const path = require('path');

const FILE_MARK = '# gitops file: ';

function stamped(manifestPath) {
  const stampFile = path.join(path.dirname(manifestPath), 'validated.json');
  if (!fs.existsSync(stampFile)) return undefined;
  const text = fs.readFileSync(manifestPath, 'utf8');
  const digest = crypto.createHash('sha256').update(text).digest('hex');
  if (JSON.parse(fs.readFileSync(stampFile, 'utf8'))[path.basename(manifestPath)] !== digest) return undefined;
  return text.split(FILE_MARK).length - 1;
}

class PlatformValidation {
  async validate(context) {
    let objects = 0;
    const rest = [];
    for (const m of context.manifests) {
      const n = stamped(m);
      if (n === undefined) rest.push(m);
      else objects += n;
    }
    let violations = [];
    let revalidated = 0;
    if (rest.length > 0) {
      const r = require(path.join(__dirname, '..', '..', 'bin', 'app.js')).load().validateCdk8sManifests(rest);
      objects += r.objects;
      revalidated = r.revalidated;
      violations = r.violations;
    }
    const byRule = new Map();
    for (const v of violations) byRule.set(v.rule, [...(byRule.get(v.rule) ?? []), v]);
    for (const [rule, vs] of byRule) {
      context.report.addViolation({
        ruleName: rule,
        recommendation: vs[0].message,
        fix: vs[0].fix,
        violatingResources: vs.map((v) => ({ resourceName: v.object, locations: [`${v.field}: ${v.message}`], manifestPath: v.file })),
      });
    }
    context.report.submit(violations.length === 0 ? 'success' : 'failure', {
      objects: String(objects),
      'validated by synth before writing': String(objects - revalidated),
      'validated here': String(revalidated),
    });
  }
}

module.exports = { PlatformValidation };
