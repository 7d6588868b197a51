import * as fs from 'fs';
import * as path from 'path';
import { formatViolation, formatViolations, schemaRegistry, Violation } from '../../lib/validation';

const v = (file: string, field: string, rule: Violation['rule'] = 'schema'): Violation => ({
  rule, file, object: 'Ingress apps/web', field, message: 'is wrong', fix: 'make it right',
});

describe('formatViolations', () => {
  test('nothing to report is the empty string', () => {
    expect(formatViolations([])).toBe('');
  });

  test('groups by file, each violation with object, field, rule, message and fix', () => {
    expect(formatViolations([v('a.yaml', 'spec.x'), v('b.yaml', '', 'issuer-exists'), v('a.yaml', 'spec.y')])).toBe(
      `3 violations in 2 files:

a.yaml
  Ingress apps/web  spec.x  [schema]
    is wrong
    fix: make it right
  Ingress apps/web  spec.y  [schema]
    is wrong
    fix: make it right

b.yaml
  Ingress apps/web  (object)  [issuer-exists]
    is wrong
    fix: make it right
`);
  });

  test('formatViolation is one line with everything', () => {
    expect(formatViolation(v('a.yaml', 'spec.x'))).toBe('a.yaml: Ingress apps/web: spec.x: is wrong [schema]. Fix: make it right');
  });
});

describe('the committed schema bundle', () => {
  const dir = path.join(__dirname, '..', '..', 'schemas');

  test('holds the kinds the platform uses, and stays small', () => {
    const registry = schemaRegistry(dir);
    for (const [apiVersion, kind] of [
      ['apps/v1', 'Deployment'], ['v1', 'Service'], ['networking.k8s.io/v1', 'Ingress'], ['v1', 'Secret'],
      ['cert-manager.io/v1', 'Certificate'], ['cert-manager.io/v1', 'ClusterIssuer'], ['argoproj.io/v1alpha1', 'Application'],
      ['networking.istio.io/v1beta1', 'Gateway'], ['networking.istio.io/v1alpha3', 'VirtualService'],
      ['monitoring.coreos.com/v1', 'PodMonitor'], ['external-secrets.io/v1', 'ExternalSecret'], ['bitnami.com/v1alpha1', 'SealedSecret'],
    ]) expect(registry.has(apiVersion, kind)).toBe(true);
    expect(registry.isClusterScoped('cert-manager.io/v1', 'ClusterIssuer')).toBe(true);
    expect(registry.isClusterScoped('cert-manager.io/v1', 'Certificate')).toBe(false);
    const bytes = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(path.join(dir, f)).size, 0);
    expect(bytes).toBeLessThan(3 * 1024 * 1024);
  });
});
