// Whole-platform properties of the default (lab) environment.
import { KubeConfigMap } from '../imports/k8s';
import { composePlatform } from '../charts/platform';
import { ManifestComponent } from '../lib/component';
import { ARGOCD_INSTALL_FILE, buildPlatform, chartFiles, renderFiles } from '../lib/platform';
import { configProblem, labConfig, render, Rendered, unionViolations } from './helpers';
import { inventory } from '../lib/inventory';

const lab = render();

describe('the app of apps', () => {
  test('bootstrap holds exactly the AppProject, the root Application and Argo CD\'s installation', () => {
    expect([...new Set(lab.in('bootstrap').map((f) => f.path))]).toEqual([
      'bootstrap/application-platform-lab.yaml',
      'bootstrap/appproject-platform-lab.yaml',
      'bootstrap/argo-cd/install.yaml',
    ]);
  });

  test('bootstrap/argo-cd/install.yaml is what the argo-cd Application renders, in the order kubectl must apply it', () => {
    const install = lab.files.filter((f) => f.path === ARGOCD_INSTALL_FILE).map((f) => f.manifest);
    const argo = lab.platform!.argoCd!;
    const id = (m: { kind: string; metadata: { name: string } }) => `${m.kind} ${m.metadata.name}`;
    // Its own Namespace first, then the CRDs, then everything the chart renders, nothing else.
    expect(id(install[0])).toBe('Namespace argocd');
    expect(install.slice(1, 4).map((m) => m.kind)).toEqual(['CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition']);
    expect(install.slice(1).map(id).sort()).toEqual(argo.render.objects.map((o) => id(o.manifest)).sort());
    // Object for object the chart's, except that kubectl would put an object without a namespace into the
    // current context's: every namespaced one names argocd.
    for (const m of install.slice(1)) {
      const rendered = argo.render.objects.map((o) => o.manifest).find((a) => id(a) === id(m))!;
      expect(m).toEqual({ ...rendered, metadata: { ...rendered.metadata, ...(m.metadata.namespace ? { namespace: m.metadata.namespace } : {}) } });
      if (rendered.metadata.namespace) expect(m.metadata.namespace).toBe(rendered.metadata.namespace);
    }
    for (const m of install.filter((x) => ['Deployment', 'Service', 'ConfigMap', 'Role', 'RoleBinding', 'ServiceAccount', 'StatefulSet'].includes(x.kind))) {
      expect(m.metadata.namespace).toBe('argocd');
    }
  });

  test('the root Application syncs the apps folder of its environment from the deploy repo', () => {
    const root = lab.get('Application', 'platform-lab');
    expect(root.metadata.namespace).toBe('argocd');
    expect(root.spec.project).toBe('platform-lab');
    expect(root.spec.source).toEqual({ repoURL: 'https://github.com/kangbock/msa_deploy.git', targetRevision: 'main', path: 'gitops/lab/apps' });
    expect(root.spec.syncPolicy.automated).toEqual({ prune: true, selfHeal: true });
  });

  test('one Application per product, each found in the construct tree; no list names them', () => {
    // Named <component>-<environment>, so that environments sharing one Argo CD cannot clash.
    const apps = lab.in('apps').map((f) => f.manifest.metadata.name.replace(/-lab$/, '')).sort();
    expect(lab.in('apps').every((f) => f.manifest.metadata.name.endsWith('-lab'))).toBe(true);
    expect(apps).toEqual(lab.platform!.components.map((c) => c.name).sort());
    // The guide's products are there (a component added later only adds to this).
    expect(apps).toEqual(expect.arrayContaining([
      'argo-cd', 'cert-manager', 'external-secrets', 'harbor', 'ingress-nginx', 'istio-base', 'istio-ingressgateway', 'istiod',
      'jenkins', 'keda', 'kiali', 'kube-prometheus-stack', 'loki', 'namespaces', 'promtail', 'secrets', 'tempo', 'workloads',
    ]));
  });

  test('a component built anywhere in the composition gets its Application, folder and AppProject entry', () => {
    const c = composePlatform(labConfig());
    const extra = new ManifestComponent(c.app, 'extra', { namespace: 'extra-ns' });
    new KubeConfigMap(extra, 'cm', { metadata: { name: 'settings', namespace: 'extra-ns' }, data: { a: 'b' } });
    const r = new Rendered(renderFiles(buildPlatform(c)));
    expect(r.app('extra').spec.source.path).toBe('gitops/lab/extra');
    expect(r.in('extra').map((f) => f.path)).toEqual(['extra/configmap-settings.yaml']);
    expect(r.get('AppProject', 'platform-lab').spec.destinations).toContainEqual({ server: 'https://kubernetes.default.svc', namespace: 'extra-ns' });
  });

  test('a chart component with objects of its own syncs both: chart first, then its folder', () => {
    const harbor = lab.app('harbor');
    expect(harbor.spec.source).toBeUndefined();
    expect(harbor.spec.sources.map((s: any) => s.chart ?? s.path)).toEqual(['harbor', 'gitops/lab/harbor']);
    expect(lab.in('harbor').map((f) => f.path)).toEqual(['harbor/certificate-harbor-secret.yaml']);
    // A chart without objects of its own keeps a single source.
    expect(lab.app('keda').spec.source.chart).toBe('keda');
  });

  test('every folder source points at a folder that holds manifests, and every folder has an Application', () => {
    const folders = new Set(lab.files.map((f) => f.path.split('/')[0]).filter((f) => f !== 'apps' && f !== 'bootstrap'));
    const synced = new Set<string>();
    for (const f of lab.in('apps')) {
      const spec = (f.manifest as any).spec;
      for (const src of [spec.source, ...(spec.sources ?? [])].filter((x: any) => x?.path)) {
        const folder = src.path.replace(/^gitops\/lab\//, '');
        expect(lab.in(folder).length).toBeGreaterThan(0);
        synced.add(folder);
      }
    }
    expect([...folders].sort()).toEqual([...synced].sort());
  });

  test('child Applications carry no resources-finalizer: removing one (or moving its objects) never deletes them', () => {
    for (const f of lab.in('apps')) expect((f.manifest.metadata as any).finalizers).toBeUndefined();
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
    const project = lab.get('AppProject', 'platform-lab');
    const used = new Set(lab.in('apps').flatMap((f) => { const spec = (f.manifest as any).spec; return [spec.source, ...(spec.sources ?? [])].filter(Boolean).map((x: any) => x.repoURL); }));
    expect(project.spec.sourceRepos).toEqual([...used].sort());
    expect(project.spec.sourceRepos).toContain('https://github.com/kangbock/msa_deploy.git');
    // What Argo CD writes into: our files' namespaces, those of every object the charts render, the destinations.
    const written = new Set([...lab.files, ...chartFiles(lab.platform!)].map((f) => (f.manifest as any).metadata.namespace).filter(Boolean));
    const destinations = lab.in('apps').map((f) => (f.manifest as any).spec.destination.namespace);
    const allowed = project.spec.destinations.map((d: any) => d.namespace);
    expect(allowed).toEqual([...new Set([...written, ...destinations])].sort());
    // kube-system only because two charts must write there, each declaring it with a reason.
    expect(allowed).toContain('kube-system');
    expect(lab.platform!.components.filter((c) => 'kube-system' in c.extraNamespaces).map((c) => c.name).sort()).toEqual(['keda', 'kube-prometheus-stack']);
    expect(allowed).not.toContain('*');
    expect(JSON.stringify(project.spec.sourceRepos)).not.toContain('*');
  });

  test('sync waves follow CRD providers and declared dependencies', () => {
    expect(lab.wave('cert-manager')).toBe(0);
    expect(lab.wave('ingress-nginx')).toBe(0);
    // Harbor's Certificate needs cert-manager's CRD and issuer; its chart reads secrets the secrets component declares.
    expect(lab.wave('harbor')).toBeGreaterThan(lab.wave('cert-manager'));
    expect(lab.wave('harbor')).toBeGreaterThan(lab.wave('secrets'));
    // A PodMonitor waits for the stack that installs its CRD.
    expect(lab.wave('jenkins')).toBeGreaterThan(lab.wave('kube-prometheus-stack'));
    // Inside cert-manager's Application the ClusterIssuers wait for the chart (and its webhook) to be healthy.
    for (const i of lab.all('ClusterIssuer')) expect((i.metadata as any).annotations['argocd.argoproj.io/sync-wave']).toBe('1');
  });

  test('every custom resource may be dry-run before its CRD exists', () => {
    for (const f of lab.files) {
      // apps/ and bootstrap/ hold Argo CD's own kinds (bootstrap/ is applied by hand).
      if (/^(apps|bootstrap)\//.test(f.path)) continue;
      const m = f.manifest as any;
      if (!m.apiVersion.includes('/') || m.apiVersion.split('/')[0].endsWith('.k8s.io') || m.apiVersion.startsWith('apps/') || m.apiVersion.startsWith('policy/')) continue;
      expect(m.metadata.annotations['argocd.argoproj.io/sync-options']).toContain('SkipDryRunOnMissingResource=true');
    }
  });

  test('no two objects share kind, namespace and name; every object is named', () => {
    // Argo CD's installation in bootstrap/ is applied once by hand and then adopted by the argo-cd and
    // namespaces Applications: it repeats their objects on purpose (see the test above). Everything else is unique.
    const synced = lab.files.filter((f) => f.path !== ARGOCD_INSTALL_FILE);
    const keys = synced.map((f) => `${f.manifest.kind}/${f.manifest.metadata.namespace ?? ''}/${f.manifest.metadata.name}`);
    expect(new Set(keys).size).toBe(keys.length);
    const install = lab.files.filter((f) => f.path === ARGOCD_INSTALL_FILE).map((f) => `${f.manifest.kind}/${f.manifest.metadata.namespace ?? ''}/${f.manifest.metadata.name}`);
    expect(new Set(install).size).toBe(install.length);
    expect(install.filter((k) => keys.includes(k))).toEqual(['Namespace//argocd']);
    expect(lab.files.every((f) => f.manifest.metadata.name)).toBe(true);
  });

  test('ServerSideApply=true exactly where an applied object is too large for client-side apply', () => {
    const tooLarge = lab.platform!.components
      .filter((c) => c.appliedManifests.some((m) => Buffer.byteLength(JSON.stringify(m)) > 262144))
      .map((c) => c.name).sort();
    // The big CRDs: ApplicationSet, ClusterSecretStore, ScaledJob, Prometheus and friends.
    expect(tooLarge).toEqual(['argo-cd', 'external-secrets', 'keda', 'kube-prometheus-stack']);
    const serverSide = lab.in('apps').filter((f) => (f.manifest as any).spec.syncPolicy.syncOptions.includes('ServerSideApply=true'))
      .map((f) => f.manifest.metadata.name.replace(/-lab$/, '')).sort();
    expect(serverSide).toEqual(tooLarge);
  });

  test('cluster-scoped objects carry no namespace', () => {
    for (const m of lab.all('ClusterIssuer')) expect(m.metadata.namespace).toBeUndefined();
  });

  test('rendering is deterministic', () => {
    // A second platform, built from scratch (render() alone would reuse this file's).
    expect(JSON.stringify(render(labConfig()).files)).toBe(JSON.stringify(lab.files));
  });

  test('the whole lab environment (snapshot)', () => {
    // Argo CD's installation is the argo-cd chart's render (vendored, checked by its sha256, and compared
    // object by object above): the snapshot lists its objects in apply order rather than repeating them.
    const byPath = new Map<string, unknown[]>();
    for (const f of lab.files) {
      const entry = f.path === ARGOCD_INSTALL_FILE ? `${f.manifest.kind} ${f.manifest.metadata.namespace ?? ''}/${f.manifest.metadata.name}` : f.manifest;
      byPath.set(f.path, [...(byPath.get(f.path) ?? []), entry]);
    }
    expect(Object.fromEntries([...byPath].map(([p, ms]) => [p, p === ARGOCD_INSTALL_FILE ? ms : ms[0]]))).toMatchSnapshot();
  });
});

describe('a second environment', () => {
  const other = render(labConfig((r) => {
    r.domain = 'example.org';
    r.exposure = { kind: 'ingress', ingressClass: 'public' };
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
    // The hub's Argo CD deploys it, and notifies: no Slack channel of its own (it runs no canary).
    r.argocd = { ...r.argocd, namespace: 'gitops' };
    delete r.argocd.slackChannel;
    r.cluster.destination = { name: 'staging-aks' };
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
  });

  test('deploys to its own cluster; its Argo CD objects live beside the lab\'s without a clash', () => {
    const argo = (r: Rendered) => [...r.in('apps'), ...r.in('bootstrap')].map((f) => f.manifest)
      .filter((m) => m.apiVersion.startsWith('argoproj.io/')).map((m) => `${m.kind}/${m.metadata.name}`);
    const mine = argo(other);
    expect(mine).toEqual(expect.arrayContaining(['Application/harbor-staging', 'AppProject/platform-staging', 'Application/platform-staging']));
    expect(mine.filter((n) => argo(lab).includes(n))).toEqual([]);
    // The components go to the staging cluster; the child Applications themselves into Argo CD's own cluster.
    for (const f of other.in('apps')) expect((f.manifest as any).spec.destination).toEqual({ name: 'staging-aks', namespace: expect.any(String) });
    expect(other.get('Application', 'platform-staging').spec.destination).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'gitops' });
    const project = other.get('AppProject', 'platform-staging');
    expect(project.spec.destinations[0]).toEqual({ server: 'https://kubernetes.default.svc', namespace: 'gitops' });
    expect(project.spec.destinations.slice(1).every((d: any) => d.name === 'staging-aks')).toBe(true);
    // The hub's Argo CD deploys it: no Argo CD of its own, in bootstrap/ or as an Application.
    expect(other.in('bootstrap/argo-cd')).toEqual([]);
    expect(other.platform!.components.map((c) => c.name)).not.toContain('argo-cd');
    expect(lab.platform!.components.map((c) => c.name)).toContain('argo-cd');
    expect(other.get('Application', 'platform-staging').metadata.name).toBe('platform-staging');
    expect(inventory(other.platform!, other.files)).toContain('Deployed by the Argo CD of another cluster (a hub) to cluster `staging-aks`');
  });

  test('settings of its own Argo CD are refused where a hub deploys it (they would be ignored)', () => {
    expect(configProblem((r) => { r.cluster.destination = { name: 'staging-aks' }; r.argocd.rbac = { defaultPolicy: 'role:readonly', policyCsv: [] }; }))
      .toMatch(/argocd\.rbac: has no effect: cluster\.destination names another cluster/);
    expect(other.get('Certificate', 'harbor-secret', 'registry').spec.issuerRef.name).toBe('le-public');
  });

  test('passes every check synth makes, as the lab does', () => {
    expect(unionViolations(undefined, other.platform).map((v) => `${v.rule}: ${v.file} ${v.message}`)).toEqual([]);
  });

  test('names a Slack channel only where something of its own posts there: its Argo CD, or Argo Rollouts for a canary', () => {
    const hub = (r: any) => { r.cluster.destination = { name: 'staging-aks' }; };
    const canary = (r: any) => { r.apps.workloads.nginx.canary = { steps: [{ setWeight: 50 }, { pause: {} }] }; };
    expect(configProblem((r) => { delete r.argocd.slackChannel; }))
      .toMatch(/argocd\.slackChannel: is required: the environment runs its Argo CD, which posts its notifications there/);
    expect(configProblem(hub)).toMatch(/argocd\.slackChannel: has no effect: cluster\.destination names another cluster/);
    expect(configProblem((r) => { hub(r); canary(r); delete r.argocd.slackChannel; }))
      .toMatch(/argocd\.slackChannel: is required: the environment runs Argo Rollouts \(a workload is a canary\)/);
    expect(labConfig((r) => { hub(r); canary(r); }).argocd.slackChannel).toBe('devops');
    expect(labConfig((r) => { hub(r); delete r.argocd.slackChannel; }).argocd.slackChannel).toBeUndefined();
  });
});
