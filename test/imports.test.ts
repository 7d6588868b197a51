// imports/k8s.ts is generated offline by scripts/import-k8s.js from the pinned Kubernetes 1.28 definitions.
// cdk8s-plus-28 ships the same generated API for 1.28: the two must agree on every kind and on how props
// turn into manifests, so a bad regeneration cannot slip through.
import { k8s as plus } from 'cdk8s-plus-28';
import * as ours from '../imports/k8s';

const kinds = Object.keys(ours).filter((k) => /^Kube[A-Z]/.test(k) && typeof (ours as any)[k]?.GVK === 'object');

test('every API object kind of imports/k8s.ts is the same kind in cdk8s-plus-28', () => {
  expect(kinds.length).toBeGreaterThan(100);
  for (const k of kinds) {
    expect([k, (plus as any)[k]?.GVK]).toEqual([k, (ours as any)[k].GVK]);
  }
});

test('props become the same manifest', () => {
  const props: ours.KubeIngressProps = {
    metadata: { name: 'web', namespace: 'web', annotations: { a: 'b' } },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['web.example.org'], secretName: 'web' }],
      rules: [{ host: 'web.example.org', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } }] } }],
    },
  };
  expect(ours.KubeIngress.manifest(props)).toEqual(plus.KubeIngress.manifest(props as any));
  const deployment: ours.KubeDeploymentProps = {
    spec: {
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { containers: [{ name: 'web', image: 'web:1', ports: [{ containerPort: 80 }], readinessProbe: { httpGet: { path: '/', port: ours.IntOrString.fromNumber(80) } } }] } },
    },
  };
  expect(ours.KubeDeployment.manifest(deployment)).toEqual(plus.KubeDeployment.manifest(deployment as any));
});
