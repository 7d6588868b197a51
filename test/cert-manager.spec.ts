import { ACME_SERVERS } from '../lib/config';
import { labConfig, render } from './helpers';

const lab = render();

describe('cert-manager', () => {
  test('the chart installs its CRDs and runs on Linux nodes, as the guide sets', () => {
    const app = lab.app('cert-manager');
    expect(app.spec.destination.namespace).toBe('cert-manager');
    expect(lab.chart(app.metadata.name)).toMatchObject({ repoURL: 'https://charts.jetstack.io', chart: 'cert-manager', targetRevision: 'v1.21.1' });
    expect(lab.values(app.metadata.name)).toEqual({
      crds: { enabled: true, keep: true },
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      global: { leaderElection: { namespace: 'cert-manager' } },
    });
  });

  test('leader election stays in cert-manager\'s own namespace, not kube-system (the chart\'s default)', () => {
    const rendered = lab.platform!.components.find((c) => c.name === 'cert-manager')!.appliedManifests;
    const namespaces = new Set(rendered.map((m) => m.metadata.namespace).filter((ns) => ns !== undefined));
    expect([...namespaces]).toEqual(['cert-manager']);
    const leases = rendered.filter((m) => m.kind === 'Role' && JSON.stringify(m).includes('"leases"'));
    expect(leases.length).toBeGreaterThan(0);
    for (const r of leases) expect(r.metadata.namespace).toBe('cert-manager');
  });
});

test('the CRDs come from crds.enabled (installCRDs is deprecated) and are kept when the chart goes', () => {
  const chart = lab.platform!.components.find((c) => c.name === 'cert-manager')!;
  expect(lab.values('cert-manager').installCRDs).toBeUndefined();
  const crds = chart.appliedManifests.filter((m) => m.kind === 'CustomResourceDefinition');
  expect(crds.map((m) => m.metadata.name)).toEqual(expect.arrayContaining(['certificates.cert-manager.io', 'clusterissuers.cert-manager.io']));
  // keep: removing the Application (or a helm uninstall) must not delete every Certificate with the CRDs.
  for (const m of crds) expect((m.metadata.annotations as Record<string, string> | undefined)?.['helm.sh/resource-policy']).toBe('keep');
});

describe('cluster issuers', () => {
  test.each([
    ['letsencrypt', 'nginx', ACME_SERVERS.production],
    ['letsencrypt2', 'istio', ACME_SERVERS.production],
    ['letsencrypt-staging', 'nginx', ACME_SERVERS.staging],
  ])('%s solves HTTP-01 through class %s', (name, cls, server) => {
    const issuer = lab.get('ClusterIssuer', name);
    expect(issuer.spec.acme).toEqual({
      server,
      email: 'platform@k-tech.cloud',
      privateKeySecretRef: { name },
      solvers: [{ http01: { ingress: { class: cls, podTemplate: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' } } } } } }],
    });
  });

  test('the guide author\'s personal address is gone', () => {
    expect(JSON.stringify(lab.all('ClusterIssuer'))).not.toContain('naver.com');
  });

  test('issuers come only from config', () => {
    const two = render(labConfig((r) => { r.certManager.issuers = r.certManager.issuers.slice(0, 2); }));
    expect(two.all('ClusterIssuer').map((m) => m.metadata.name)).toEqual(['letsencrypt', 'letsencrypt2']);
  });
});
