// imports/k8s.ts is generated offline by scripts/import-k8s.js from the pinned Kubernetes 1.28 definitions.
// cdk8s-plus-28 ships the same generated API for 1.28: the two must agree on every kind and on how props
// turn into manifests, so a bad regeneration cannot slip through. Every module of imports/ is trimmed to
// the kinds scripts/trim-imports.js lists, and holds exactly those.
import * as fs from 'fs';
import * as path from 'path';
import { k8s as plus } from 'cdk8s-plus-28';
import * as ours from '../imports/k8s';

const IMPORTS = path.join(__dirname, '..', 'imports');
const { KEEP, kindsOf } = require('../scripts/trim-imports') as { KEEP: Record<string, string[]>; kindsOf: (text: string) => string[] };

const kinds = Object.keys(ours).filter((k) => /^Kube[A-Z]/.test(k) && typeof (ours as any)[k]?.GVK === 'object');

test('imports/ holds exactly the modules and kinds scripts/trim-imports.js keeps', () => {
  const modules = fs.readdirSync(IMPORTS).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3)).sort();
  expect(modules).toEqual(Object.keys(KEEP).sort());
  for (const m of modules) {
    expect([m, kindsOf(fs.readFileSync(path.join(IMPORTS, `${m}.ts`), 'utf8'))]).toEqual([m, [...KEEP[m]].sort()]);
  }
});

test('every API object kind of imports/k8s.ts is the same kind in cdk8s-plus-28', () => {
  expect(kinds.sort()).toEqual([...KEEP.k8s].sort());
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
