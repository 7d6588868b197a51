import * as yaml from 'js-yaml';
import { render, unionViolations } from './helpers';

const lab = render();
const NS = 'istio-system';

describe('kiali', () => {
  const app = lab.app('kiali');
  const values = lab.values(app.metadata.name);

  test('the kiali-server chart, pinned, in the istio namespace', () => {
    expect(lab.chart(app.metadata.name)).toMatchObject({ repoURL: 'https://kiali.org/helm-charts', chart: 'kiali-server', targetRevision: '2.29.0' });
    expect(app.spec.destination.namespace).toBe(NS);
    // Kiali 2 has no istio_namespace value: it finds Istio in the namespace it is installed in, as its config says.
    expect(values.istio_namespace).toBeUndefined();
    const kiali = lab.platform!.components.find((c) => c.name === 'kiali')!;
    const cm = kiali.appliedManifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'kiali') as any;
    const kialiConfig: any = yaml.load(cm.data['config.yaml']);
    expect(kialiConfig.external_services.istio.root_namespace).toBe(NS);
    expect(kialiConfig.deployment.namespace).toBe(NS);
  });

  test('reads the guide\'s Prometheus and Grafana', () => {
    expect(values.external_services.prometheus.url).toBe('http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090');
    expect(values.external_services.grafana).toMatchObject({
      enabled: true,
      internal_url: 'http://kube-prometheus-stack-grafana.monitoring.svc.cluster.local:80',
      // Links in Kiali's UI open in a browser: Grafana's public host.
      external_url: 'https://grafana.k-tech.cloud',
    });
  });

  test('a public dashboard is not anonymous', () => {
    expect(values.auth.strategy).toBe('token');
  });

  test('dashboard.<domain> goes to service kiali port 20001 with the guide\'s secret', () => {
    const ing = lab.get('Ingress', 'dashboard', NS);
    expect(ing.spec.tls).toEqual([{ hosts: ['dashboard.k-tech.cloud'], secretName: 'dashboard-secret' }]);
    expect(ing.spec.rules).toEqual([{
      host: 'dashboard.k-tech.cloud',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'kiali', port: { number: 20001 } } } }] },
    }]);
    expect(values.server.port).toBe(20001);
    expect(values.deployment.instance_name).toBe('kiali');
    const cert = lab.get('Certificate', 'dashboard-secret', NS);
    expect(cert.spec).toMatchObject({ secretName: 'dashboard-secret', dnsNames: ['dashboard.k-tech.cloud'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } });
    // Service kiali is the chart's, port 20001 (server.port) included; the union checks the backend.
    const kiali = lab.platform!.components.find((c) => c.name === 'kiali')!;
    const svc = kiali.appliedManifests.find((m) => m.kind === 'Service' && m.metadata.name === 'kiali') as any;
    expect(svc.metadata.namespace).toBe(NS);
    expect(svc.spec.ports.map((p: any) => p.port)).toContain(values.server.port);
    expect(unionViolations().filter((v) => v.file.startsWith('kiali/'))).toEqual([]);
  });

  test('the Azure MySQL server is a mesh-external ServiceEntry', () => {
    const se = lab.get('ServiceEntry', 'azure-mysql', NS);
    expect(se.spec).toEqual({
      hosts: ['prod-kb97-mysql.mysql.database.azure.com'],
      ports: [{ number: 3306, name: 'tcp-mysql', protocol: 'TCP' }],
      resolution: 'DNS',
      location: 'MESH_EXTERNAL',
    });
  });

  test('waves: after istiod, and after cert-manager for its endpoint\'s Certificate', () => {
    expect(lab.wave('kiali')).toBeGreaterThan(lab.wave('istiod'));
    expect(lab.wave('kiali')).toBeGreaterThan(lab.wave('cert-manager'));
    expect(lab.app('kiali').spec.sources.map((s: any) => s.chart ?? s.path)).toEqual(['kiali-server', 'gitops/lab/kiali']);
  });
});
