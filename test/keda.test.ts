import { buildPlatform } from '../lib/platform';
import { labConfig, render } from './helpers';

const lab = render();

describe('keda', () => {
  test('the KEDA chart, pinned, providing keda.sh, applied server-side', () => {
    const app = lab.app('keda');
    expect(app.spec.source).toMatchObject({ repoURL: 'https://kedacore.github.io/charts', chart: 'keda', targetRevision: '2.20.2' });
    expect(app.spec.destination.namespace).toBe('keda');
    expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
    const keda = buildPlatform(labConfig()).components.find((c) => c.name === 'keda')!;
    expect(keda.providesApiGroups).toEqual(['keda.sh']);
  });

  test('nginx-istio-rps scales the nginx Deployment on the Istio request rate', () => {
    const so = lab.get('ScaledObject', 'nginx-istio-rps', 'default');
    expect(so.spec.scaleTargetRef).toEqual({ name: 'nginx' });
    expect(lab.get('Deployment', so.spec.scaleTargetRef.name, 'default')).toBeDefined();
    expect(so.spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 10, pollingInterval: 15, cooldownPeriod: 60 });
    const [trigger] = so.spec.triggers;
    expect(trigger.type).toBe('prometheus');
    expect(trigger.metadata.serverAddress).toBe('http://kube-prometheus-stack-prometheus.monitoring.svc.cluster.local:9090');
    expect(trigger.metadata.threshold).toBe('5');
    expect(trigger.metadata.activationThreshold).toBe('0.5');
    const q = trigger.metadata.query.replace(/\s+/g, '');
    expect(q).toBe('sum(rate(istio_requests_total{reporter="destination",destination_workload="nginx",destination_workload_namespace="default"}[2m]))');
  });

  test('the ScaledObject is synced after KEDA installs its CRD; only autoscaled workloads get one', () => {
    expect(lab.wave('workloads')).toBeGreaterThan(lab.wave('keda'));
    expect(lab.all('ScaledObject').map((o) => o.metadata.name)).toEqual(['nginx-istio-rps']);
  });
});
