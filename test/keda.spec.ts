import { render } from './helpers';

const lab = render();

describe('keda', () => {
  test('the KEDA chart, pinned, installing the keda.sh CRDs, applied server-side', () => {
    const app = lab.app('keda');
    expect(lab.chart(app.metadata.name)).toMatchObject({ repoURL: 'https://kedacore.github.io/charts', chart: 'keda', targetRevision: '2.20.2' });
    expect(app.spec.destination.namespace).toBe('keda');
    const keda = lab.platform!.components.find((c) => c.name === 'keda')!;
    const crds = keda.appliedManifests.filter((m) => m.kind === 'CustomResourceDefinition') as any[];
    expect(crds.filter((c) => c.spec.group === 'keda.sh').map((c) => c.spec.names.kind).sort())
      .toEqual(['ClusterTriggerAuthentication', 'ScaledJob', 'ScaledObject', 'TriggerAuthentication']);
    // Server-side apply because the ScaledJob CRD is too large for client-side apply's annotation.
    expect(crds.some((c) => Buffer.byteLength(JSON.stringify(c)) > 262144)).toBe(true);
    expect(app.spec.syncPolicy.syncOptions).toContain('ServerSideApply=true');
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
    // Derived from the ScaledObject that workloads writes and the CRD the keda chart renders: not declared.
    expect(lab.dependencies('workloads')).toContain('keda');
    expect(lab.platform!.components.find((c) => c.name === 'workloads')!.declaredDependencies.map((c) => c.name)).not.toContain('keda');
    expect(lab.wave('workloads')).toBeGreaterThan(lab.wave('keda'));
    expect(lab.all('ScaledObject').map((o) => o.metadata.name)).toEqual(['nginx-istio-rps']);
  });
});
