// The platform of one environment: every component, wired to what it uses. This is the only file that
// knows all components; everything platform-wide (the Applications, the AppProject, the namespaces, the
// waves, the validation's view, the inventory) is derived from the construct tree it builds, in
// lib/platform.ts. Adding a component: a file in charts/ with its props interface, its config section in
// lib/config.ts, and one `new` here with the references it needs.
import { App } from 'cdk8s';
import { ConfigError, PlatformConfig, usesCanary } from '../lib/config';
import { endpointProblems } from '../lib/tls-endpoint';
import { Exposure } from '../lib/exposure';
import { Composition } from '../lib/platform';
import { WorkloadsChart } from './workloads';
import { ArgoCdChart } from './argo-cd';
import { ArgoRolloutsChart } from './argo-rollouts';
import { CertManagerChart } from './cert-manager';
import { ExternalSecretsChart } from './external-secrets';
import { GatewayApiChart } from './gateway-api';
import { HarborChart } from './harbor';
import { IngressNginxChart } from './ingress-nginx';
import { INGRESS_GATEWAY, injectionLabels, IstioBaseChart, IstioGatewayChart, IstiodChart } from './istio';
import { JenkinsChart } from './jenkins';
import { KedaChart } from './keda';
import { KialiChart } from './kiali';
import { KubePrometheusStackChart } from './kube-prometheus-stack';
import { LokiChart } from './loki';
import { NamespacesChart } from './namespaces';
import { PromtailChart } from './promtail';
import { SealedSecretsChart } from './sealed-secrets';
import { SecretsChart } from './secrets';
import { TempoChart } from './tempo';

/** Builds the components of one environment under a new App. Nothing is rendered or written. */
export function composePlatform(config: PlatformConfig): Composition {
  const app = new App();
  const { domain } = config;
  // Every platform endpoint follows the environment's exposure. The Gateway lives in the Istio ingress
  // gateway's namespace, which it binds to; its CRDs come first.
  const exposure = config.exposure.kind === 'ingress'
    ? Exposure.ingress(config.exposure.ingressClass)
    : Exposure.gatewayApi(config.exposure.gatewayName, config.istio.namespace);
  const gatewayApi = exposure.kind === 'gateway-api' ? new GatewayApiChart(app, { namespace: exposure.namespace }) : undefined;
  const s = config.secrets;
  const secretsBackend = s.backend === 'external-secrets'
    ? new ExternalSecretsChart(app, { config: s })
    : new SealedSecretsChart(app, { config: s });
  const secrets = new SecretsChart(app, { config, backend: secretsBackend });
  const certManager = new CertManagerChart(app, { config: config.certManager, nodeSelector: config.nodeSelector, exposure });
  // With Gateway API support on, cert-manager's controller does not start before the CRDs exist.
  if (gatewayApi) certManager.dependOn(gatewayApi);
  const issuer = certManager.issuer(config.certManager.ingressIssuer);
  const site = { domain, exposure, issuer, secrets };
  const monitoring = new KubePrometheusStackChart(app, {
    ...site, config: config.kubePrometheusStack, provider: config.cluster.provider, certManager: certManager.metrics,
  });

  if (config.ingressNginx) {
    if (exposure.kind !== 'ingress') throw new ConfigError(config.file, ['ingressNginx: runs ingress-nginx, but exposure.kind is gateway-api; remove the section']);
    new IngressNginxChart(app, { config: config.ingressNginx, ingressClass: exposure.className });
  }
  new HarborChart(app, { ...site, config: config.harbor });
  new JenkinsChart(app, { ...site, config: config.jenkins, monitoring });
  const argoCd = new ArgoCdChart(app, { ...site, config: config.argocd, monitoring });
  const grafana = monitoring.grafanaProvisioning;
  const loki = new LokiChart(app, { config: config.loki, alertmanagerUrl: monitoring.alertmanager.url, grafana });
  new PromtailChart(app, { config: config.promtail, loki });
  const tempo = new TempoChart(app, { config: config.tempo, secrets, prometheusUrl: monitoring.prometheusUrl, grafana });
  const istioBase = new IstioBaseChart(app, { config: config.istio });
  const istiod = new IstiodChart(app, { config: config.istio, base: istioBase, tracing: tempo.otlpGrpc, monitoring });
  const gateway = new IstioGatewayChart(app, { config: config.istio, istiod, monitoring });
  new KialiChart(app, {
    ...site, config: config.kiali, istiod,
    backends: { prometheusUrl: monitoring.prometheusUrl, grafanaUrl: monitoring.grafana.url, grafanaPublicUrl: `https://${monitoring.hosts.grafana}` },
  });
  new KedaChart(app, { config: config.keda });
  // Only where a workload is delivered as a canary: the Rollouts' CRDs and controller.
  if (usesCanary(config)) {
    new ArgoRolloutsChart(app, { config: config.argoRollouts, slackChannel: config.argocd.slackChannel, secrets });
  }
  new WorkloadsChart(app, {
    config: config.apps, domain, gatewayIssuer: certManager.issuer(config.apps.gatewayIssuer), gateway, istiod, secrets, monitoring,
  });

  // The shared Gateway, once every endpoint above has its listener; bound to the ingress gateway's Service.
  if (exposure.kind === 'gateway-api') exposure.build(gateway, `${INGRESS_GATEWAY}.${gateway.gatewayNamespace}.svc.cluster.local`);

  // Hosts and TLS secrets of every endpoint above, taken together (two on one host, say).
  const problems = endpointProblems(app, domain);
  if (problems.length > 0) throw new ConfigError(config.file, problems);

  // Last: the namespaces every component above writes into, as objects synced before the secrets.
  const namespaces = new NamespacesChart(app, { components: app, secrets, labels: injectionLabels(config.istio) });
  secrets.dependOn(namespaces);
  return { config, app, argoCd };
}
