// The platform comes up: the lab's whole cluster state (our manifests plus every chart's render) passes every
// check, and each defect the first render found is refused again when it is put back, naming it.
import { composePlatform } from '../charts/platform';
import { applicationName } from '../lib/app-of-apps';
import { HelmComponent, isHelmComponent } from '../lib/component';
import { chartComponents, chartInputs, completePlatform, Composition, Platform, renderFiles, RenderedFile } from '../lib/platform';
import { renderClusterSync } from '../lib/render';
import { validatePlatform } from '../lib/validate-platform';
import { RuleName, Violation } from '../lib/validation';
import { labConfig } from './helpers';

/** The lab, with `tweak` applied to its components before the charts are rendered. */
function lab(tweak: (c: Composition, chart: (name: string) => HelmComponent<any>) => void = () => undefined): Platform {
  const c = composePlatform(labConfig());
  const chart = (name: string) => chartComponents(c).find((h) => h.name === name)! as HelmComponent<any>;
  tweak(c, chart);
  return completePlatform(c, renderClusterSync(chartInputs(c), c.config.cluster.kubernetesVersion));
}

/** The lab as it is, built once for this file: tests that change only its files share it (they never add to it). */
let untouched: Platform | undefined;
const labAsIs = (): Platform => (untouched ??= lab());

/** Puts values back into a chart, as its class would have written them. */
const addValues = (h: HelmComponent<any>, more: object) => (h as any).addValues(more);

function violations(platform: Platform, change: (files: RenderedFile[]) => RenderedFile[] = (f) => f): Violation[] {
  return validatePlatform(platform, change(renderFiles(platform)));
}

const brief = (vs: Violation[], rule: RuleName) => vs.filter((v) => v.rule === rule).map((v) => `${v.object} ${v.field}`);

describe('the lab cluster state', () => {
  const platform = labAsIs();
  const files = renderFiles(platform);

  test('has no violation at all, ours or rendered', () => {
    expect(violations(platform)).toEqual([]);
  });

  test('validates every object the charts render, not only ours', () => {
    const rendered = platform.components.filter(isHelmComponent).flatMap((h) => h.render.objects);
    expect(rendered.length).toBeGreaterThan(400);
    expect(rendered.some((o) => o.manifest.kind === 'CustomResourceDefinition' && o.manifest.metadata.name === 'certificates.cert-manager.io')).toBe(true);
  });

  test('bootstrap/ installs Argo CD with the Application health check, so the first sync already waits on waves', () => {
    const install = files.filter((f) => f.path === 'bootstrap/argo-cd/install.yaml').map((f) => f.manifest as any);
    expect(install[0]).toMatchObject({ kind: 'Namespace', metadata: { name: 'argocd' } });
    const cm = install.find((m) => m.kind === 'ConfigMap' && m.metadata.name === 'argocd-cm');
    expect(cm.data['resource.customizations.health.argoproj.io_Application']).toContain('hs.status');
    // Namespaced objects carry their namespace: kubectl would put the others into the context's namespace.
    expect(install.filter((m) => m.kind === 'Deployment').every((m) => m.metadata.namespace === 'argocd')).toBe(true);
    // CRDs before anything that needs them.
    const firstCrd = install.findIndex((m) => m.kind === 'CustomResourceDefinition');
    expect(install.slice(firstCrd).findIndex((m) => m.kind !== 'CustomResourceDefinition') + firstCrd).toBeGreaterThan(firstCrd);
  });

  test('ServerSideApply=true is derived from the render: exactly the Applications with an object over 256 KiB', () => {
    const ssa = files.filter((f) => f.path.startsWith('apps/') && ((f.manifest as any).spec.syncPolicy.syncOptions as string[]).includes('ServerSideApply=true'))
      .map((f) => f.manifest.metadata.name).sort();
    expect(ssa).toEqual(['argo-cd-lab', 'external-secrets-lab', 'keda-lab', 'kube-prometheus-stack-lab']);
  });

  test('only one way to install Istio: no istioctl folder, no IstioOperator', () => {
    expect(files.some((f) => f.path.startsWith('istioctl/') || f.manifest.kind === 'IstioOperator')).toBe(false);
  });
});

describe('each defect the render found is refused when it is put back', () => {
  test('cert-manager\'s leader election back in kube-system', () => {
    const v = violations(lab((_, chart) => addValues(chart('cert-manager'), { global: { leaderElection: { namespace: 'kube-system' } } })));
    expect(brief(v, 'project-destination')).toEqual(expect.arrayContaining(['Role kube-system/cert-manager:leaderelection metadata.namespace']));
  });

  test('external-secrets synced without server-side apply', () => {
    const platform = labAsIs();
    const v = violations(platform, (files) => files.map((f) => (f.path === 'apps/application-external-secrets-lab.yaml'
      ? { ...f, manifest: withSyncOptions(f.manifest, ['CreateNamespace=true']) } : f)));
    expect(brief(v, 'apply-size')).toEqual([
      'CustomResourceDefinition clustersecretstores.external-secrets.io ',
      'CustomResourceDefinition secretstores.external-secrets.io ',
    ]);
  });

  test('the AKS control plane scraped again: alerts that only ever fire', () => {
    const v = violations(lab((_, chart) => addValues(chart('kube-prometheus-stack'), { kubeScheduler: { enabled: true } })));
    expect(brief(v, 'managed-control-plane')).toEqual(expect.arrayContaining([
      'ServiceMonitor monitoring/kube-prometheus-stack-kube-scheduler spec.selector',
      expect.stringMatching(/^PrometheusRule monitoring\/kube-prometheus-stack-kubernetes-system-scheduler spec.groups\[0\].rules\[0\].expr$/),
    ]));
  });

  test('istiod\'s PodDisruptionBudget over one replica', () => {
    const v = violations(lab((_, chart) => addValues(chart('istiod'), { global: { defaultPodDisruptionBudget: { enabled: true } } })));
    expect(brief(v, 'disruption-budget')).toEqual(['PodDisruptionBudget istio-system/istiod spec.minAvailable']);
  });

  test('Harbor\'s database password back to the chart default', () => {
    const v = violations(lab((_, chart) => addValues(chart('harbor'), { database: { internal: { password: 'changeit' } } })));
    const found = v.filter((x) => x.rule === 'default-credential');
    expect(found.map((x) => `${x.object} ${x.field}`)).toEqual([
      'Application argocd/harbor-lab spec.sources[0].helm.valuesObject.database.internal.password',
      'Secret devops-tools/harbor-database data.POSTGRES_PASSWORD',
    ]);
    expect(JSON.stringify(found)).not.toContain('changeit');
  });

  test('a values key the pinned chart never reads (Kiali\'s istio_namespace)', () => {
    const v = violations(lab((_, chart) => addValues(chart('kiali'), { istio_namespace: 'istio-system' })));
    expect(brief(v, 'unread-value')).toEqual(['Application argocd/kiali-lab spec.sources[0].helm.valuesObject.istio_namespace']);
  });

  test('a monitor whose jobLabel the pods do not carry (the Jenkins PodMonitor)', () => {
    const v = violations(labAsIs(), (files) => files.map((f) => (f.manifest.kind === 'PodMonitor' && f.manifest.metadata.name === 'jenkins'
      ? { ...f, manifest: { ...f.manifest, spec: { ...(f.manifest as any).spec, jobLabel: 'app.kubernetes.io/name' } } } : f)));
    expect(brief(v, 'monitor-target')).toEqual(['PodMonitor monitoring/jenkins spec.jobLabel']);
  });

  test('a custom resource synced before its CRD', () => {
    const v = violations(labAsIs(), (files) => files.map((f) => (f.path === 'apps/application-harbor-lab.yaml'
      ? { ...f, manifest: { ...f.manifest, metadata: { ...f.manifest.metadata, annotations: { 'argocd.argoproj.io/sync-wave': '0' } } } } : f)));
    expect(brief(v, 'crd-order')).toEqual(expect.arrayContaining(['Certificate devops-tools/harbor-secret apiVersion']));
  });

  test('an object two Applications apply', () => {
    const platform = labAsIs();
    const v = violations(platform, (files) => {
      const svc = platform.components.filter(isHelmComponent).find((h) => h.name === 'kiali')!.render.objects.find((o) => o.manifest.kind === 'Service')!;
      return [...files, { path: 'jenkins/service-kiali.yaml', manifest: svc.manifest as any }];
    });
    expect(brief(v, 'single-owner')).toEqual(['Service istio-system/kiali metadata.name']);
  });

  test('an in-cluster URL to a port the Service does not have', () => {
    const v = violations(lab((_, chart) => addValues(chart('kiali'), {
      external_services: { prometheus: { url: 'http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9999' } },
    })));
    expect(brief(v, 'service-reference')).toEqual(['Application argocd/kiali-lab spec.sources[0].helm.valuesObject.external_services.prometheus.url']);
  });

  test('a second way to install Istio: an IstioOperator in a folder no Application syncs', () => {
    const operator = { apiVersion: 'install.istio.io/v1alpha1', kind: 'IstioOperator', metadata: { name: 'istio', namespace: 'istio-system' }, spec: { profile: 'demo' } };
    const v = violations(labAsIs(), (files) => [...files, { path: 'istioctl/istiooperator-istio.yaml', manifest: operator as any }]);
    expect(brief(v, 'application-path')).toEqual(['IstioOperator istio-system/istio ']);
    expect(v.find((x) => x.rule === 'application-path')!.message).toContain('istioctl/, which no Application syncs');
  });

  test('a chart that generates a secret on every render', () => {
    const v = violations(lab((_, chart) => { (chart('harbor').values as any).core.existingSecret = undefined; }));
    expect(brief(v, 'render-stable')).toEqual(expect.arrayContaining(['Secret devops-tools/harbor-core ']));
  });
});

describe('the Kubernetes version is the environment\'s', () => {
  test('on 1.29, cert-manager 1.21\'s CRDs carry selectableFields, which that API server rejects', () => {
    const c = composePlatform(labConfig((raw) => { raw.cluster.kubernetesVersion = '1.29'; }));
    // The charts that install CRDs, rendered as Argo CD would on 1.29 (the whole cluster again would be
    // twenty renders more on a fresh clone, for charts that ship no CRD). Every object is checked against
    // 1.29's schemas, the other charts' as the lab renders them on 1.31: what they would render on 1.29 is
    // not what this test states.
    const withCrds = chartInputs(c).filter((i) => labAsIs().components.filter(isHelmComponent)
      .some((h) => h.releaseName === i.releaseName && h.render.objects.some((o) => o.manifest.kind === 'CustomResourceDefinition')));
    expect(withCrds.length).toBeGreaterThan(5);
    const onVersion = renderClusterSync(withCrds, c.config.cluster.kubernetesVersion);
    // The other charts' renders as the lab has them, to complete the platform that synth validates.
    const renders = new Map([...chartComponents(labAsIs()).map((h) => [applicationName(c.config, h), h.render] as const), ...onVersion]);
    const v = violations(completePlatform(c, renders)).filter((x) => x.rule === 'schema');
    expect(v.map((x) => `${x.object} ${x.field}`)).toEqual(expect.arrayContaining([
      expect.stringMatching(/^CustomResourceDefinition certificates\.cert-manager\.io spec\.versions\[0\]\.selectableFields$/),
    ]));
    // The five CRDs that carry the field, and nothing else (of our objects and these renders).
    expect(v.map((x) => x.object.replace('CustomResourceDefinition ', '')).sort()).toEqual([
      'certificaterequests.cert-manager.io', 'certificates.cert-manager.io', 'challenges.acme.cert-manager.io',
      'externalsecrets.external-secrets.io', 'orders.acme.cert-manager.io',
    ]);
    // The lab's own version (1.31) takes them.
    expect(brief(violations(labAsIs()), 'schema')).toEqual([]);
  });
});

function withSyncOptions(m: RenderedFile['manifest'], syncOptions: string[]): RenderedFile['manifest'] {
  const spec = (m as any).spec;
  return { ...m, spec: { ...spec, syncPolicy: { ...spec.syncPolicy, syncOptions } } } as RenderedFile['manifest'];
}
