// Components on and off per environment: a component runs where its config section is present, and what
// another component needs of it is refused when it is off.
import { composePlatform } from '../charts/platform';
import { buildPlatform } from '../lib/platform';
import { ConfigError } from '../lib/config';
import { usedSecrets } from '../lib/secrets';
import { labConfig, unionViolations } from './helpers';

const refusal = (change: (raw: any) => void): string => {
  try {
    composePlatform(labConfig(change));
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('not refused');
};

describe('a component is off where its section is absent', () => {
  const config = labConfig((r) => {
    for (const section of ['harbor', 'jenkins', 'kiali', 'ingressNginx', 'promtail', 'tempo']) delete r[section];
  });
  const platform = buildPlatform(composePlatform(config));
  const names = platform.components.map((c) => c.name);

  test('no Application, no objects and no secrets of it', () => {
    for (const off of ['harbor', 'jenkins', 'kiali', 'ingress-nginx', 'promtail', 'tempo']) expect(names).not.toContain(off);
    expect(names).toEqual(expect.arrayContaining(['argo-cd', 'kube-prometheus-stack', 'loki', 'istiod', 'workloads']));
    const secrets = usedSecrets(platform.app).map((d) => d.name);
    for (const gone of ['harbor-secrets', 'harbor-core-token', 'jenkins-metrics-basic-auth', 'kiali-login-signing-key', 'tempo-azure-credentials']) {
      expect(secrets).not.toContain(gone);
    }
    // The workloads still pull with the registry credential, now only in their own namespace.
    expect(usedSecrets(platform.app).find((d) => d.name === 'docker-config-secret')!.namespaces).toEqual(['default']);
  });

  test('without Tempo the mesh runs untraced, and the rest still validates', () => {
    const istiod = platform.components.find((c) => c.name === 'istiod')!;
    expect(istiod.apiObjects.map((o) => o.kind)).not.toContain('Telemetry');
    expect(JSON.stringify((istiod as any).values.meshConfig)).not.toContain('otlp');
    expect(unionViolations(undefined, platform)).toEqual([]);
  });
});

describe('what a component needs is refused when it is off', () => {
  test('turning off the monitoring stack refuses the PodMonitors that need it', () => {
    const message = refusal((r) => { delete r.kubePrometheusStack; });
    expect(message).toContain('config/lab.yaml');
    expect(message).toMatch(/needs kubePrometheusStack, which is off in this environment .*PodMonitor.*add the kubePrometheusStack section, or remove/);
    // Argo CD is always on: its PodMonitors make the monitoring stack required, and the fix says so.
    expect(refusal((r) => { for (const s of ['kubePrometheusStack', 'jenkins', 'loki', 'promtail', 'tempo', 'kiali']) delete r[s]; }))
      .toMatch(/argocd: needs kubePrometheusStack, .*; add the kubePrometheusStack section \(argocd is always on\)$/);
  });

  test('an autoscaled workload without KEDA names the workload\'s field', () => {
    expect(refusal((r) => { delete r.keda; })).toContain('apps.workloads.nginx.autoscaling: needs keda');
  });

  test('Kiali without Istio, and Promtail without Loki', () => {
    expect(refusal((r) => { delete r.istio; })).toContain('kiali: needs istio');
    expect(refusal((r) => { delete r.loki; })).toContain('promtail: needs loki');
  });
});
