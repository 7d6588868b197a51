// Whole-platform properties of the default (lab) environment.
import { labConfig, render } from './helpers';

const lab = render();

describe('the app of apps', () => {
  test('bootstrap holds exactly the AppProject and the root Application', () => {
    expect(lab.in('bootstrap').map((f) => f.path)).toEqual([
      'bootstrap/application-platform-lab.yaml',
      'bootstrap/appproject-platform.yaml',
    ]);
  });

  test('the root Application syncs the apps folder of its environment from the deploy repo', () => {
    const root = lab.get('Application', 'platform-lab');
    expect(root.metadata.namespace).toBe('argocd');
    expect(root.spec.project).toBe('platform');
    expect(root.spec.source).toEqual({ repoURL: 'https://github.com/kangbock/msa_deploy.git', targetRevision: 'main', path: 'gitops/lab/apps' });
    expect(root.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  test('the apps folder holds one Application per component and nothing else', () => {
    const apps = lab.in('apps').map((f) => f.manifest);
    expect(apps.every((m) => m.kind === 'Application')).toBe(true);
    expect(apps.map((m) => m.metadata.name).sort()).toEqual([
      'argo-cd', 'argo-cd-endpoint', 'cert-manager', 'cluster-issuers', 'external-secrets', 'harbor', 'harbor-certificate',
      'ingress-nginx', 'istio-base', 'istio-ingressgateway', 'istio-telemetry', 'istiod', 'jenkins', 'keda', 'kiali',
      'kiali-dashboard', 'kube-prometheus-stack', 'loki', 'monitoring-config', 'namespaces', 'promtail', 'secrets', 'tempo', 'workloads',
    ]);
  });

  test('every directory Application points at a folder that holds manifests', () => {
    for (const f of lab.in('apps')) {
      const src = (f.manifest as any).spec.source;
      if (src.chart) continue;
      const folder = src.path.replace(/^gitops\/lab\//, '');
      expect(lab.in(folder).length).toBeGreaterThan(0);
    }
  });

  test('every Helm Application pins an exact chart version', () => {
    for (const f of lab.in('apps')) {
      const src = (f.manifest as any).spec.source;
      if (!src.chart) continue;
      expect(src.targetRevision).toMatch(/^v?\d+\.\d+\.\d+$/);
      expect(src.helm.valuesObject).toBeDefined();
    }
  });

  test('every child Application syncs automatically with prune and selfHeal into a namespace it may create', () => {
    for (const f of lab.in('apps')) {
      const spec = (f.manifest as any).spec;
      expect(spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
      expect(spec.syncPolicy.syncOptions).toContain('CreateNamespace=true');
      // A sync that fails while an earlier wave's webhooks start is tried again, with backoff.
      expect(spec.syncPolicy.retry).toEqual({ limit: 10, backoff: { duration: '10s', factor: 2, maxDuration: '5m' } });
      expect(spec.destination.server).toBe('https://kubernetes.default.svc');
    }
  });

  test('the AppProject allows exactly the repos and namespaces the platform uses', () => {
    const project = lab.get('AppProject', 'platform');
    const used = new Set(lab.in('apps').map((f) => (f.manifest as any).spec.source.repoURL));
    expect(project.spec.sourceRepos).toEqual([...used].sort());
    expect(project.spec.sourceRepos).toContain('https://github.com/kangbock/msa_deploy.git');
    const written = new Set(lab.files.map((f) => f.manifest.metadata.namespace).filter(Boolean));
    const allowed = project.spec.destinations.map((d: any) => d.namespace);
    expect(allowed).toEqual([...allowed].sort());
    for (const ns of written) expect(allowed).toContain(ns);
    for (const f of lab.in('apps')) expect(allowed).toContain((f.manifest as any).spec.destination.namespace);
    expect(allowed).not.toContain('*');
    expect(JSON.stringify(project.spec.sourceRepos)).not.toContain('*');
  });

  test('sync waves follow CRD providers and declared dependencies', () => {
    expect(lab.wave('cert-manager')).toBe(0);
    expect(lab.wave('ingress-nginx')).toBe(0);
    // ClusterIssuers are cert-manager custom resources.
    expect(lab.wave('cluster-issuers')).toBeGreaterThan(lab.wave('cert-manager'));
    // The Harbor Certificate needs the CRD and its issuer; the chart needs the certificate's secret.
    expect(lab.wave('harbor-certificate')).toBeGreaterThan(lab.wave('cluster-issuers'));
    expect(lab.wave('harbor')).toBeGreaterThan(lab.wave('harbor-certificate'));
  });

  test('every custom resource may be dry-run before its CRD exists', () => {
    for (const f of lab.files) {
      // apps/ and bootstrap/ hold Argo CD's own kinds; istioctl/ is applied by istioctl, not synced.
      if (/^(apps|bootstrap|istioctl)\//.test(f.path)) continue;
      const m = f.manifest as any;
      if (!m.apiVersion.includes('/') || m.apiVersion.split('/')[0].endsWith('.k8s.io') || m.apiVersion.startsWith('apps/')) continue;
      expect(m.metadata.annotations['argocd.argoproj.io/sync-options']).toContain('SkipDryRunOnMissingResource=true');
    }
  });

  test('no two objects share kind, namespace and name; every object is named', () => {
    const keys = lab.files.map((f) => `${f.manifest.kind}/${f.manifest.metadata.namespace ?? ''}/${f.manifest.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    expect(lab.files.every((f) => f.manifest.metadata.name)).toBe(true);
  });

  test('cluster-scoped objects carry no namespace', () => {
    for (const m of lab.all('ClusterIssuer')) expect(m.metadata.namespace).toBeUndefined();
  });

  test('rendering is deterministic', () => {
    expect(JSON.stringify(render().files)).toBe(JSON.stringify(lab.files));
  });

  test('the whole lab environment (snapshot)', () => {
    expect(Object.fromEntries(lab.files.map((f) => [f.path, f.manifest]))).toMatchSnapshot();
  });
});

describe('a second environment', () => {
  const other = render(labConfig((r) => {
    r.domain = 'example.org';
    r.ingressClass = 'public';
    r.certManager.acmeEmail = 'ops@example.org';
    r.certManager.issuers = [
      { name: 'le-public', acme: 'staging', http01IngressClass: 'public' },
      { name: 'le-mesh', acme: 'staging', http01IngressClass: 'istio' },
    ];
    r.apps.gatewayIssuer = 'le-mesh';
    r.certManager.ingressIssuer = 'le-public';
    r.certManager.namespace = 'certs';
    r.harbor.namespace = 'registry';
    r.ingressNginx.namespace = 'edge';
    r.argocd = { ...r.argocd, namespace: 'gitops', project: 'infra' };
    r.kiali.namespace = 'mesh';
    r.keda.namespace = 'autoscaling';
    for (const w of Object.values<any>(r.apps.workloads)) w.image.repository = w.image.repository.replace('k-tech.cloud', 'example.org');

    r.secrets.namespace = 'eso';
    r.apps.namespace = 'web';
    r.jenkins.namespace = 'ci';
    r.istio.namespace = 'mesh';
    r.kubePrometheusStack.namespace = 'metrics';
    r.promtail.namespace = 'metrics';
    r.tempo.namespace = 'traces';
    r.loki.namespace = 'logs';
    r.deployRepo = { url: 'https://git.example.org/ops/deploy.git', revision: 'release', path: 'clusters' };
  }, 'config/staging.yaml'));

  test('takes every fact from its config: none of the lab defaults appear', () => {
    const text = JSON.stringify(other.files);
    // ("nginx" and "argocd" stay: the nginx workload, the argocd Helm release.)
    const facts = ['k-tech.cloud', 'kangbock', '"letsencrypt"', '"letsencrypt2"', 'devops-tools', '"platform"', 'gitops/lab',
      '"monitoring"', '"observability"', '"istio-system"', '"external-secrets"/', '"namespace":"loki"', '"namespace":"keda"', '"namespace":"argocd"'];
    expect(facts.filter((f) => text.includes(f))).toEqual([]);
    expect(other.get('Application', 'platform-staging').spec.source.path).toBe('clusters/staging/apps');
    expect(other.get('Certificate', 'harbor-secret', 'registry').spec.issuerRef.name).toBe('le-public');
  });
});
