// The platform of one environment: every component, wired to what it uses. This is the only file that
// knows all components; everything platform-wide (the Applications, the AppProject, the namespaces, the
// waves, the validation's view, the inventory) is derived from the construct tree it builds, in
// lib/platform.ts. Adding a component: a file in charts/ with its props interface, its config section in
// lib/config.ts, and one `new` here with the references it needs.
import { App } from 'cdk8s';
import { ConfigError, isOptionalSection, notificationChannel, PlatformConfig, runsItsOwnArgoCd, usesCanary } from '../lib/config';
import { endpointProblems } from '../lib/tls-endpoint';
import { Composition } from '../lib/platform';
import { Exposure } from '../lib/exposure';
import { PROVIDERS } from '../lib/provider';
import { GatewayApiChart } from './gateway-api';
import { INGRESS_GATEWAY, injectionLabels, IstioBaseChart, IstioGatewayChart, IstiodChart } from './istio';
import { WorkloadsChart } from './workloads';
import { AlloyChart } from './alloy';
import { ArgoCdChart } from './argo-cd';
import { ArgoRolloutsChart } from './argo-rollouts';
import { CertManagerChart } from './cert-manager';
import { ExternalSecretsChart } from './external-secrets';
import { HarborChart } from './harbor';
import { IngressNginxChart } from './ingress-nginx';
import { JenkinsChart } from './jenkins';
import { KedaChart } from './keda';
import { KialiChart } from './kiali';
import { KubePrometheusStackChart } from './kube-prometheus-stack';
import { DATASOURCE_UIDS, LokiChart } from './loki';
import { NamespacesChart } from './namespaces';
import { PromtailChart } from './promtail';
import { SealedSecretsChart } from './sealed-secrets';
import { SecretsChart } from './secrets';
import { TempoChart } from './tempo';

/**
 * Builds the components of one environment under a new App. Nothing is rendered or written.
 *
 * A component runs where its config section is present. What one component needs of another is passed
 * here, as a typed reference; a reference to a component that is off is refused (`needs`), naming both
 * sections, so that nothing is built that would fail on the cluster (a PodMonitor without the monitoring
 * stack, a ScaledObject without KEDA).
 */
export function composePlatform(config: PlatformConfig): Composition {
  const app = new App();
  const { domain } = config;
  const needs = requirement(config);
  // Every platform endpoint follows the environment's exposure. The Gateway lives in the Istio ingress
  // gateway's namespace, which it binds to; its CRDs come first.
  const exposure = config.exposure.kind === 'ingress'
    ? Exposure.ingress(config.exposure.ingressClass)
    : Exposure.gatewayApi(config.exposure.gatewayName, needs(config.istio, 'exposure', 'istio', 'the Gateway binds to the Istio ingress gateway').namespace);
  const gatewayApi = exposure.kind === 'gateway-api' ? new GatewayApiChart(app, { namespace: exposure.namespace }) : undefined;
  const s = config.secrets;
  const size = config.cluster.size;
  const secretsBackend = s.backend === 'external-secrets'
    ? new ExternalSecretsChart(app, { config: s, size })
    : new SealedSecretsChart(app, { config: s });
  const secrets = new SecretsChart(app, { config: s, file: config.file, backend: secretsBackend });
  const certManager = new CertManagerChart(app, { config: config.certManager, nodeSelector: config.nodeSelector, exposure, size });
  // With Gateway API support on, cert-manager's controller does not start before the CRDs exist.
  if (gatewayApi) certManager.dependOn(gatewayApi);
  const issuer = certManager.issuer(config.certManager.ingressIssuer);
  const site = { domain, exposure, issuer, secrets };
  const monitoring = config.kubePrometheusStack && new KubePrometheusStackChart(app, {
    ...site, config: config.kubePrometheusStack, provider: config.cluster.provider, certManager: certManager.metrics, size,
  });
  const scrapedBy = (who: string) => needs(monitoring, who, 'kubePrometheusStack', 'Prometheus scrapes its metrics with a PodMonitor, a kind the monitoring stack installs');

  // (Config refuses ingressNginx beside a gateway-api exposure.)
  if (config.ingressNginx && exposure.kind === 'ingress') {
    new IngressNginxChart(app, { config: config.ingressNginx, ingressClass: exposure.className, provider: PROVIDERS[config.cluster.provider] });
  }
  if (config.harbor) new HarborChart(app, { ...site, config: config.harbor, size });
  if (config.jenkins) new JenkinsChart(app, { ...site, config: config.jenkins, monitoring: scrapedBy('jenkins') });
  // An environment deployed to another cluster by a hub's Argo CD installs none of its own.
  const argoCd = runsItsOwnArgoCd(config.cluster) ? new ArgoCdChart(app, { ...site, config: config.argocd, slackChannel: notificationChannel(config), monitoring: scrapedBy('argocd'), size }) : undefined;
  const loki = config.loki && new LokiChart(app, {
    config: config.loki,
    alertmanagerUrl: scrapedBy('loki').alertmanager.url,
    grafana: scrapedBy('loki').grafanaProvisioning,
    traces: config.tempo ? { datasourceUid: DATASOURCE_UIDS.tempo } : undefined,
    size,
  });
  // One log shipper (config refuses both): Promtail, the guide's, or Alloy, its successor.
  if (config.promtail) new PromtailChart(app, { config: config.promtail, loki: needs(loki, 'promtail', 'loki', 'it ships the pods\' logs to Loki'), size });
  if (config.alloy) new AlloyChart(app, { config: config.alloy, loki: needs(loki, 'alloy', 'loki', 'it ships the pods\' logs to Loki') });
  const tempo = config.tempo && ((tempoConfig) => {
    const m = needs(monitoring, 'tempo', 'kubePrometheusStack', 'its metrics generator writes span metrics to Prometheus, and Grafana shows its traces');
    return new TempoChart(app, {
      config: tempoConfig, secrets, prometheusUrl: m.prometheusUrl, grafana: m.grafanaProvisioning,
      logs: loki ? { datasourceUid: DATASOURCE_UIDS.loki } : undefined, size,
    });
  })(config.tempo);
  const mesh = config.istio && ((istio) => {
    const base = new IstioBaseChart(app, { config: istio });
    // Without Tempo the mesh runs untraced.
    const istiod = new IstiodChart(app, { config: istio, base, tracing: tempo?.otlpGrpc, monitoring: scrapedBy('istio') });
    const gateway = new IstioGatewayChart(app, { config: istio, istiod, monitoring: scrapedBy('istio') });
    return { istiod, gateway };
  })(config.istio);
  if (config.kiali) {
    const m = needs(monitoring, 'kiali', 'kubePrometheusStack', 'it reads the mesh\'s traffic from Prometheus');
    new KialiChart(app, {
      ...site, config: config.kiali, istiod: needs(mesh, 'kiali', 'istio', 'it shows the Istio mesh').istiod,
      backends: { prometheusUrl: m.prometheusUrl, grafanaUrl: m.grafana.url, grafanaPublicUrl: `https://${m.hosts.grafana}` },
    });
  }
  if (config.keda) new KedaChart(app, { config: config.keda, size });
  // Only where a workload is delivered as a canary: the Rollouts' CRDs and controller.
  if (usesCanary(config)) {
    new ArgoRolloutsChart(app, { config: config.argoRollouts, slackChannel: notificationChannel(config), secrets });
  }
  const apps = config.apps;
  for (const [name, w] of Object.entries(apps.workloads)) {
    if (w.autoscaling) needs(config.keda, `apps.workloads.${name}.autoscaling`, 'keda', 'KEDA scales the workload (a ScaledObject)');
  }
  const workloadsMesh = needs(mesh, 'apps', 'istio', 'the workloads run in the Istio mesh, behind its ingress gateway');
  new WorkloadsChart(app, {
    config: apps, domain, gatewayIssuer: certManager.issuer(apps.gatewayIssuer), gateway: workloadsMesh.gateway, istiod: workloadsMesh.istiod,
    secrets, monitoring: scrapedBy('apps'),
  });

  // The shared Gateway, once every endpoint above has its listener; bound to the ingress gateway's Service.
  if (exposure.kind === 'gateway-api') {
    const { gateway } = needs(mesh, 'exposure', 'istio', 'the Gateway binds to the Istio ingress gateway');
    exposure.build(gateway, `${INGRESS_GATEWAY}.${gateway.gatewayNamespace}.svc.cluster.local`);
  }

  // Hosts and TLS secrets of every endpoint above, taken together (two on one host, say).
  const problems = endpointProblems(app, domain);
  if (problems.length > 0) throw new ConfigError(config.file, problems);

  // Last: the secrets the components above use, then the namespaces all of them write into, as objects
  // synced before the secrets.
  secrets.writeSecrets(app);
  const namespaces = new NamespacesChart(app, { components: app, labels: config.istio ? injectionLabels(config.istio) : {} });
  secrets.dependOn(namespaces);
  return { config, app, argoCd };
}

/**
 * `needs(ref, who, section, why)`: the reference `who` (a config section or field) needs from the component
 * of config section `section`; refused, naming both and the fix, when that section is absent (the
 * component is off in this environment).
 */
function requirement(config: PlatformConfig) {
  return <T>(ref: T | undefined | false, who: string, section: string, why: string): T => {
    if (ref) return ref;
    // Only an optional section can be removed instead (argocd and apps are always there).
    const fix = isOptionalSection(who.split('.')[0]) ? `add the ${section} section, or remove ${who}` : `add the ${section} section (${who.split('.')[0]} is always on)`;
    throw new ConfigError(config.file, [`${who}: needs ${section}, which is off in this environment (no \`${section}\` section): ${why}; ${fix}`]);
  };
}
