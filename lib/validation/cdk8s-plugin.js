// The cdk8s CLI validation plugin declared in cdk8s.yaml, so `npx cdk8s synth` reports on every object it
// wrote. Plain JavaScript because the CLI `require`s it; the checks themselves are lib/validation, loaded
// through the same esbuild bundle as the synth (bin/app.js).
'use strict';
const path = require('path');

class PlatformValidation {
  async validate(context) {
    const app = require(path.join(__dirname, '..', '..', 'bin', 'app.js')).load();
    const { objects, revalidated, violations } = app.validateCdk8sManifests(context.manifests);
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
