import { render } from './helpers';

const lab = render();

describe('harbor', () => {
  const values = lab.values('harbor');

  test('the values express the guide\'s sed edits', () => {
    expect(lab.chart('harbor')).toMatchObject({ repoURL: 'https://helm.goharbor.io', chart: 'harbor', targetRevision: '1.19.1' });
    expect(lab.app('harbor').spec.destination.namespace).toBe('devops-tools');
    expect(values.expose.ingress.hosts.core).toBe('harbor.k-tech.cloud');
    expect(values.externalURL).toBe('https://harbor.k-tech.cloud');
    expect(values.expose.ingress.className).toBe('nginx');
    expect(values.expose.tls).toEqual({ enabled: true, certSource: 'secret', secret: { secretName: 'harbor-secret' } });
  });

  test('one mechanism issues harbor-secret: the Certificate, not ingress-shim annotations', () => {
    expect(JSON.stringify(values)).not.toContain('cert-manager.io');
    const cert = lab.get('Certificate', 'harbor-secret', 'devops-tools');
    expect(cert.spec).toEqual({
      secretName: 'harbor-secret',
      privateKey: { rotationPolicy: 'Always' },
      commonName: 'harbor.k-tech.cloud',
      dnsNames: ['harbor.k-tech.cloud'],
      usages: ['digital signature', 'key encipherment', 'server auth'],
      issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' },
    });
  });

  test('the Certificate and the chart agree on host and secret', () => {
    const cert = lab.get('Certificate', 'harbor-secret', 'devops-tools');
    expect(cert.spec.dnsNames).toEqual([values.expose.ingress.hosts.core]);
    expect(cert.spec.secretName).toBe(values.expose.tls.secret.secretName);
  });
});
