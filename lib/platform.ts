// Platform config -> components -> rendered files. `buildPlatform` makes the construct tree of one
// environment; `renderFiles` turns it into the files of gitops/<environment>/, in memory.
import { ApiObject, App, Chart } from 'cdk8s';
import * as yaml from 'js-yaml';
import { CertManagerChart } from '../charts/cert-manager';
import { ClusterIssuersChart } from '../charts/cluster-issuers';
import { HarborCertificateChart, HarborChart } from '../charts/harbor';
import { IngressNginxChart } from '../charts/ingress-nginx';
import { ExternalSecretsChart } from '../charts/external-secrets';
import { NamespacesChart } from '../charts/namespaces';
import { SealedSecretsChart } from '../charts/sealed-secrets';
import { SecretsChart } from '../charts/secrets';
import { APPS_FOLDER, BOOTSTRAP_FOLDER, BootstrapChart, RootChart } from '../charts/root';
import { AppsChart } from '../charts/apps';
import { ArgoCdChart, ArgoCdEndpointChart } from '../charts/argo-cd';
import { injectionLabels, IstioBaseChart, IstioctlChart, IstioGatewayChart, IstiodChart, IstioTelemetryChart } from '../charts/istio';
import { JenkinsChart } from '../charts/jenkins';
import { KedaChart } from '../charts/keda';
import { KialiChart, KialiDashboardChart } from '../charts/kiali';
import { KubePrometheusStackChart } from '../charts/kube-prometheus-stack';
import { LokiChart } from '../charts/loki';
import { MonitoringChart } from '../charts/monitoring';
import { PromtailChart } from '../charts/promtail';
import { TempoChart } from '../charts/tempo';
import { PlatformConfig } from './config';
import { Component, isCustomResource, SKIP_DRY_RUN } from './component';
import { syncWaves } from './ordering';
import { compareText } from './text';

export interface Platform {
  readonly config: PlatformConfig;
  readonly app: App;
  /** Every component, in the order they were declared. */
  readonly components: readonly Component[];
  readonly waves: ReadonlyMap<Component, number>;
  readonly root: RootChart;
  readonly bootstrap: BootstrapChart;
  readonly secrets: SecretsChart;
  /**
   * Charts rendered to gitops/<environment>/<chart id>/ that no Application syncs: files for a human to
   * apply with another tool (the IstioOperator for `istioctl install -f`).
   */
  readonly unsynced: readonly Chart[];
}

/** Builds the construct tree of one environment. Nothing is written. */
export function buildPlatform(config: PlatformConfig): Platform {
  const app = new App();
  const s = config.secrets;
  const secretsBackend = s.backend === 'external-secrets'
    ? new ExternalSecretsChart(app, { ...config, secrets: s })
    : new SealedSecretsChart(app, { ...config, secrets: s });
  const secrets = new SecretsChart(app, config, secretsBackend);
  const certManager = new CertManagerChart(app, config);
  const issuers = new ClusterIssuersChart(app, config);
  const ingressIssuer = issuers.issuer(config.certManager.ingressIssuer);
  const ingressNginx = new IngressNginxChart(app, config);
  const harborCertificate = new HarborCertificateChart(app, config, ingressIssuer);
  const harbor = new HarborChart(app, config, harborCertificate, secrets);
  const jenkins = new JenkinsChart(app, config, ingressIssuer, secrets);
  const argoCd = new ArgoCdChart(app, config, secrets);
  const argoCdEndpoint = new ArgoCdEndpointChart(app, config, ingressIssuer, argoCd);
  const kubePrometheusStack = new KubePrometheusStackChart(app, config, secrets);
  const loki = new LokiChart(app, config, kubePrometheusStack.alertmanager.url);
  const promtail = new PromtailChart(app, config, loki);
  const tempo = new TempoChart(app, config, secrets, kubePrometheusStack.prometheus.url);
  const monitoring = new MonitoringChart(app, config, { stack: kubePrometheusStack, issuer: ingressIssuer, secrets, loki, tempo });
  const istioBase = new IstioBaseChart(app, config);
  const istiod = new IstiodChart(app, config, istioBase, tempo.otlpGrpc);
  const istioGateway = new IstioGatewayChart(app, config, istiod);
  const istioTelemetry = new IstioTelemetryChart(app, config, istiod);
  const kiali = new KialiChart(app, config, istiod, {
    prometheusUrl: kubePrometheusStack.prometheus.url,
    grafanaUrl: kubePrometheusStack.grafana.url,
    grafanaPublicUrl: `https://${kubePrometheusStack.hosts.grafana}`,
  }, secrets);
  const kialiDashboard = new KialiDashboardChart(app, config, ingressIssuer, kiali);
  const keda = new KedaChart(app, config);
  const workloads = new AppsChart(app, config, {
    gatewayIssuer: issuers.issuer(config.apps.gatewayIssuer), gateway: istioGateway, istiod, secrets,
    prometheusUrl: kubePrometheusStack.prometheus.url,
  });
  const unsynced: Chart[] = [new IstioctlChart(app, config, tempo.otlpGrpc)];

  const components: Component[] = [secretsBackend, secrets, certManager, issuers, ingressNginx, harborCertificate, harbor,
    jenkins, argoCd, argoCdEndpoint, istioBase, istiod, istioGateway, istioTelemetry, kiali, kialiDashboard, keda, workloads,
    kubePrometheusStack, loki, promtail, tempo, monitoring];
  // Secrets land in namespaces that other components create: the namespaces exist first.
  const usedNamespaces = [...components.map((c) => c.targetNamespace), ...secrets.declarations.flatMap((d) => d.namespaces),
    ...config.istio.injectionNamespaces];
  const namespaces = new NamespacesChart(app, usedNamespaces, injectionLabels(config));
  secrets.dependOn(namespaces);
  components.unshift(namespaces);
  checkUniqueNames(components, unsynced.map((c) => c.node.id));
  const waves = syncWaves(components);
  const root = new RootChart(app, config, components, waves);
  const bootstrap = new BootstrapChart(app, config, components, usedNamespaces);
  return { config, app, components, waves, root, bootstrap, secrets, unsynced };
}

function checkUniqueNames(components: readonly Component[], unsyncedFolders: readonly string[] = []): void {
  const reserved = new Set([APPS_FOLDER, BOOTSTRAP_FOLDER, ...unsyncedFolders]);
  const seen = new Set<string>();
  for (const c of components) {
    if (reserved.has(c.name)) throw new Error(`component name "${c.name}" is reserved for a gitops folder`);
    if (seen.has(c.name)) throw new Error(`two components are named "${c.name}"`);
    seen.add(c.name);
  }
}

/** A Kubernetes object as written to gitops/. */
export interface Manifest {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string; readonly [k: string]: unknown };
  readonly [k: string]: unknown;
}

/** One rendered file: its path under gitops/<environment>/ and the object it holds. */
export interface RenderedFile {
  readonly path: string;
  readonly manifest: Manifest;
}

/** Renders a chart's objects, one file each, named `<kind>-<name>.yaml` (namespace added on a clash). */
function renderChart(chart: Chart, folder: string, annotateCustomResources: boolean): RenderedFile[] {
  const objects = chart.node.findAll().filter((c): c is ApiObject => c instanceof ApiObject);
  if (annotateCustomResources) {
    for (const o of objects) {
      // The CRD may come from a chart synced in an earlier wave of the same sync: skip the dry run.
      if (isCustomResource(o.apiVersion)) o.metadata.addAnnotation('argocd.argoproj.io/sync-options', SKIP_DRY_RUN);
    }
  }
  const manifests = objects.map((o) => o.toJson() as Manifest);
  const base = (m: Manifest) => `${m.kind.toLowerCase()}-${m.metadata.name}`;
  const counts = new Map<string, number>();
  manifests.forEach((m) => counts.set(base(m), (counts.get(base(m)) ?? 0) + 1));
  const files = manifests.map((m) => {
    const name = counts.get(base(m))! > 1 ? `${m.kind.toLowerCase()}-${m.metadata.namespace ?? 'cluster'}-${m.metadata.name}` : base(m);
    return { path: `${folder}/${name}.yaml`, manifest: m };
  });
  const paths = new Set<string>();
  for (const f of files) {
    if (paths.has(f.path)) throw new Error(`two objects would be written to ${f.path}: ${f.manifest.kind} ${f.manifest.metadata.name} is declared twice`);
    paths.add(f.path);
  }
  return files.sort((a, b) => compareText(a.path, b.path));
}

/** Every file of gitops/<environment>/, in a stable order. */
export function renderFiles(platform: Platform): RenderedFile[] {
  const files: RenderedFile[] = [
    ...renderChart(platform.bootstrap, BOOTSTRAP_FOLDER, false),
    ...renderChart(platform.root, APPS_FOLDER, false),
  ];
  for (const c of platform.components) {
    if (c.kind === 'manifests') {
      const own = renderChart(c, c.name, true);
      if (own.length === 0) throw new Error(`component ${c.name} has no manifests; Argo CD would sync an empty folder`);
      files.push(...own);
    }
  }
  for (const c of platform.unsynced) files.push(...renderChart(c, c.node.id, false));
  return files;
}

const HEADER = '# Generated by cdk8s from this repo\'s TypeScript and config/; do not edit. Run `npm run synth`.\n';

/** The YAML text of a manifest, byte-for-byte stable for the same input. */
export function toYaml(manifest: Manifest): string {
  return HEADER + yaml.dump(manifest, { lineWidth: -1, noRefs: true });
}
