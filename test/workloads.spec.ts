import { composePlatform } from '../charts/platform';
import { buildPlatform, renderFiles } from '../lib/platform';
import { labConfig, render, unionViolations } from './helpers';

const lab = render();
const NS = 'default';

describe('the deploy repo\'s workloads', () => {
  test('each workload runs its configured image, pinned, and pulls with docker-config-secret', () => {
    const images = Object.fromEntries(lab.in('workloads').filter((f) => f.manifest.kind === 'Deployment')
      .map((f) => [f.manifest.metadata.name, (f.manifest as any).spec.template.spec]));
    expect(Object.keys(images).sort()).toEqual(['login-js', 'nginx', 'register-js']);
    expect(images.nginx.containers[0].image).toBe('harbor.k-tech.cloud/msa/nginx:2');
    expect(images['login-js'].containers[0].image).toBe('harbor.k-tech.cloud/msa/login_js:1');
    expect(images['register-js'].containers[0].image).toBe('harbor.k-tech.cloud/msa/register_js:1');
    for (const spec of Object.values(images)) expect(spec.imagePullSecrets).toEqual([{ name: 'docker-config-secret' }]);
    expect(lab.get('ExternalSecret', 'docker-config-secret', NS)).toBeDefined();
    expect(lab.wave('workloads')).toBeGreaterThan(lab.wave('secrets'));
  });

  test('pods carry the labels Istio and Kiali identify a workload by, and ask for a sidecar', () => {
    const d = lab.get('Deployment', 'login-js', NS);
    expect(d.spec.selector.matchLabels).toEqual({ app: 'login-js' });
    expect(d.spec.template.metadata.labels).toEqual({
      app: 'login-js',
      version: 'v1.76.0',
      'app.kubernetes.io/name': 'login-js',
      'app.kubernetes.io/version': 'v1.76.0',
      'service.istio.io/canonical-name': 'login-js',
      'service.istio.io/canonical-revision': 'v1.76.0',
      'backstage.io/kubernetes-id': 'login-js',
      'sidecar.istio.io/inject': 'true',
    });
    // KEDA (or the default of 1) owns the replica count; a fixed one would fight the HPA.
    expect(d.spec.replicas).toBeUndefined();
    expect(lab.get('Namespace', 'default').metadata.labels).toEqual({ 'istio-injection': 'enabled' });
  });

  test('Services select their pods on the configured, protocol-named ports', () => {
    const ports = (name: string) => lab.get('Service', `${name}-service`, NS).spec.ports.map((p: any) => [p.name, p.port, p.targetPort]);
    expect(ports('nginx')).toEqual([['http-nginx', 80, 80]]);
    expect(ports('login-js')).toEqual([['http-loginjs', 3000, 3000], ['http-metrics', 9113, 9113]]);
    expect(ports('register-js')).toEqual([['tcp-registerjs', 3000, 3000]]);
    for (const name of ['nginx', 'login-js', 'register-js']) {
      const svc = lab.get('Service', `${name}-service`, NS);
      const pod = lab.get('Deployment', name, NS).spec.template.metadata.labels;
      for (const [k, v] of Object.entries(svc.spec.selector)) expect(pod[k]).toBe(v);
    }
  });

  test('www.<domain>: the Gateway serves the Certificate\'s secret from the gateway\'s namespace', () => {
    const gw = lab.get('Gateway', 'nginx-gateway', NS);
    expect(gw.spec.selector).toEqual({ istio: 'ingressgateway', app: 'istio-ingressgateway' });
    const https = gw.spec.servers.find((s: any) => s.port.number === 443);
    expect(https).toEqual({ port: { number: 443, name: 'https', protocol: 'HTTPS' }, hosts: ['www.k-tech.cloud'], tls: { mode: 'SIMPLE', credentialName: 'nginx-secret' } });
    expect(gw.spec.servers.find((s: any) => s.port.number === 80).hosts).toEqual(['www.k-tech.cloud']);
    const cert = lab.get('Certificate', 'nginx-secret', 'istio-system');
    expect(cert.spec.secretName).toBe(https.tls.credentialName);
    expect(cert.spec.dnsNames).toEqual(['www.k-tech.cloud']);
    expect(cert.spec.issuerRef).toEqual({ name: 'letsencrypt2', kind: 'ClusterIssuer' });
  });

  test('the VirtualService routes the host to the Service\'s port through the Gateway', () => {
    const vs = lab.get('VirtualService', 'nginx-virtualservice', NS);
    expect(vs.spec).toEqual({
      gateways: ['nginx-gateway'],
      hosts: ['www.k-tech.cloud'],
      http: [{ match: [{ uri: { prefix: '/' } }], route: [{ destination: { host: 'nginx-service', port: { number: 80 } } }] }],
    });
    expect(lab.all('Gateway')).toHaveLength(1);
  });

  test('the checks of the whole union find nothing wrong in the workloads', () => {
    // Among others: istio-ca-root-cert (istiod creates it at run time) for the injected sidecars, the
    // Prometheus Service the ScaledObject queries (rendered by kube-prometheus-stack), the pull secret.
    expect(unionViolations().filter((v) => v.file.startsWith('workloads/'))).toEqual([]);
  });

  test('they sync after istiod and the gateway (pods need the injector) and after KEDA (ScaledObject)', () => {
    expect(lab.wave('workloads')).toBeGreaterThan(lab.wave('istiod'));
    expect(lab.wave('workloads')).toBeGreaterThan(lab.wave('istio-ingressgateway'));
    expect(lab.wave('workloads')).toBeGreaterThan(lab.wave('keda'));
  });

  test('config refuses floating tags, unknown protocols and a gateway issuer that cannot solve through Istio', () => {
    expect(() => labConfig((raw) => { raw.apps.workloads.nginx.image.tag = 'latest'; })).toThrow(/apps\.workloads\.nginx\.image\.tag/);
    expect(() => labConfig((raw) => { raw.apps.workloads.nginx.portName = 'web'; })).toThrow(/apps\.workloads\.nginx\.portName/);
    expect(() => labConfig((raw) => { raw.apps.workloads.nginx.autoscaling.minReplicas = 20; })).toThrow(/minReplicas must not exceed maxReplicas/);
    expect(() => labConfig((raw) => { raw.apps.workloads['login-js'].metricsPort = 3000; })).toThrow(/apps\.workloads\.login-js\.metricsPort: metricsPort must differ from port/);
    expect(() => labConfig((raw) => { raw.apps.workloads.nginx.hostname = 'www'; })).toThrow(/apps\.workloads\.nginx: unknown field "hostname"; allowed here: image, port, portName, podAnnotations, serviceAnnotations, metricsPort, version, subdomain, autoscaling, traffic, canary, replicas, resources, probes, securityContext, disruptionBudget, topologySpread, env, config, configMountPath, callers/);
    expect(() => labConfig((raw) => { raw.apps.gatewayIssuer = 'letsencrypt'; })).toThrow(/apps\.gatewayIssuer: issuer "letsencrypt" solves HTTP-01 through ingress class "nginx", but the apps' hosts are served by the Istio ingress gateway, class "istio", so the challenge would never reach the host; choose an issuer whose http01IngressClass is "istio"; allowed: letsencrypt2/);
    expect(() => labConfig((raw) => { raw.apps.gatewayIssuer = 'nope'; })).toThrow(/apps\.gatewayIssuer: issuer "nope" is not declared/);
  });

  test('a workload without a host gets no Gateway; a new workload is one config entry', () => {
    const files = renderFiles(buildPlatform(composePlatform(labConfig((raw) => {
      raw.apps.workloads.api = { image: { repository: 'harbor.k-tech.cloud/msa/api', tag: '7' }, port: 8080, portName: 'http-api', version: 'v2', subdomain: 'api' };
    }))));
    const names = files.filter((f) => f.path.startsWith('workloads/')).map((f) => `${f.manifest.kind}/${f.manifest.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining(['Deployment/api', 'Service/api-service', 'Gateway/api-gateway', 'VirtualService/api-virtualservice', 'Certificate/api-secret']));
    // No host: no Gateway, VirtualService or Certificate; its pod parts and policies only.
    expect(names.filter((n) => n.includes('login-js')).sort()).toEqual(['AuthorizationPolicy/login-js', 'Deployment/login-js',
      'PeerAuthentication/login-js-metrics', 'PodMonitor/login-js-metrics', 'Service/login-js-service', 'ServiceAccount/login-js']);
  });
});

describe('the guide\'s pod and Service annotations', () => {
  const lab = render();
  test('sidecar injection is annotated as in the deploy repo, and per-workload annotations come from config', () => {
    const nginx = lab.get('Deployment', 'nginx', 'default');
    expect(nginx.spec.template.metadata.annotations).toEqual({ 'sidecar.istio.io/inject': 'true' });
    const login = lab.get('Deployment', 'login-js', 'default');
    expect(login.spec.template.metadata.annotations['sidecar.istio.io/rewriteAppHTTPProbers']).toBe('true');
    expect(lab.get('Service', 'register-js-service', 'default').metadata.annotations).toEqual({ 'prometheus.io/scrape': 'true' });
    expect(lab.get('Service', 'nginx-service', 'default').metadata.annotations).toBeUndefined();
  });
});
