// config-reference: every Secret and ConfigMap a workload reads exists in its namespace, with each key read.
import { ManifestFile, ValidationOptions, Violation } from '../../lib/validation';
import { configReference, RuntimeObject } from '../../lib/validation/rules-config';
import { certificate, contextOf, deployment, externalSecret, M } from './helpers';

function run(files: ManifestFile[], options: ValidationOptions & { runtimeObjects?: readonly RuntimeObject[] } = {}): Violation[] {
  const ctx = contextOf(files, options);
  configReference(ctx);
  return ctx.violations;
}

const brief = (vs: Violation[]) => vs.map((v) => `${v.object} ${v.field}`);
const f = (path: string, manifest: M, rendered?: string): ManifestFile => ({ path, manifest, ...(rendered ? { application: rendered, rendered: true } : {}) });

const configMap = (namespace: string, name: string, data: Record<string, string>): M => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace }, data });
const env = (name: string, kind: 'secretKeyRef' | 'configMapKeyRef', ref: M) => ({ name, valueFrom: { [kind]: ref } });

/** A pod that reads a Secret key (ExternalSecret), a ConfigMap key, a TLS Certificate and a SealedSecret. */
function app(overrides: { secretKey?: string; configKey?: string; tlsKey?: string; optional?: boolean } = {}): M {
  return deployment('apps', 'web', {
    imagePullSecrets: [{ name: 'docker-config-secret' }],
    containers: [{
      name: 'web', image: 'web:1.0.0',
      env: [
        env('DB_PASSWORD', 'secretKeyRef', { name: 'db', key: overrides.secretKey ?? 'password', ...(overrides.optional ? { optional: true } : {}) }),
        env('LOG_LEVEL', 'configMapKeyRef', { name: 'web-config', key: overrides.configKey ?? 'log-level' }),
      ],
      envFrom: [{ secretRef: { name: 'sealed' } }],
      volumeMounts: [{ name: 'tls', mountPath: '/tls' }, { name: 'ca', mountPath: '/ca' }],
    }],
    volumes: [
      { name: 'tls', secret: { secretName: 'web-tls', items: [{ key: overrides.tlsKey ?? 'tls.crt', path: 'cert.pem' }, { key: 'tls.key', path: 'key.pem' }] } },
      { name: 'ca', projected: { sources: [{ configMap: { name: 'kube-root-ca.crt', items: [{ key: 'ca.crt', path: 'ca.crt' }] } }, { configMap: { name: 'web-config' } }] } },
    ],
  });
}

const pullSecret: M = {
  ...externalSecret('apps', 'docker-config-secret'),
  spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' }, target: { template: { type: 'kubernetes.io/dockerconfigjson' } }, data: [{ secretKey: '.dockerconfigjson', remoteRef: { key: 'harbor' } }] },
};
const sealed: M = { apiVersion: 'bitnami.com/v1alpha1', kind: 'SealedSecret', metadata: { name: 'sealed', namespace: 'apps' }, spec: { encryptedData: { TOKEN: 'AgB...' } } };
const declarations = [
  f('db.yaml', externalSecret('apps', 'db')),
  f('cm.yaml', configMap('apps', 'web-config', { 'log-level': 'info' })),
  f('cert.yaml', certificate('apps', 'web-tls')),
  f('pull.yaml', pullSecret),
  f('sealed.yaml', sealed),
];

describe('config-reference', () => {
  test('correct wiring passes: ExternalSecret, ConfigMap, Certificate, SealedSecret and kube-root-ca.crt keys', () => {
    expect(run([...declarations, f('web.yaml', app())])).toEqual([]);
  });

  test('a Secret key missing is caught, with the keys that exist', () => {
    const v = run([...declarations, f('web.yaml', app({ secretKey: 'passwd' }))]);
    expect(brief(v)).toEqual(['Deployment apps/web spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key']);
    expect(v[0].message).toContain('reads key "passwd" of Secret apps/db, which has no such key (its keys: password;');
    expect(v[0].fix).toContain('use key "password"');
  });

  test('a ConfigMap key and a Certificate key missing are caught', () => {
    expect(brief(run([...declarations, f('web.yaml', app({ configKey: 'level', tlsKey: 'cert.pem' }))]))).toEqual([
      'Deployment apps/web spec.template.spec.containers[0].env[1].valueFrom.configMapKeyRef.key',
      'Deployment apps/web spec.template.spec.volumes[0].secret.items[0].key',
    ]);
  });

  test('a missing Secret is caught, naming the namespace where one exists; optional references are skipped', () => {
    const elsewhere = [f('db.yaml', externalSecret('other', 'db')), ...declarations.slice(1)];
    const v = run([...elsewhere, f('web.yaml', app())]);
    expect(brief(v)).toEqual(['Deployment apps/web spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.name']);
    expect(v[0].message).toContain('reads Secret "db", which does not exist in namespace apps (one exists in other');
    expect(v[0].fix).toContain("options.runtimeObjects");
    expect(run([...elsewhere, f('web.yaml', app({ optional: true }))])).toEqual([]);
  });

  test('an image pull secret must hold a docker config', () => {
    const wrong = { ...pullSecret, spec: { ...pullSecret.spec, data: [{ secretKey: 'config.json', remoteRef: { key: 'harbor' } }] } };
    const v = run([...declarations.filter((d) => d.path !== 'pull.yaml'), f('pull.yaml', wrong), f('web.yaml', app())]);
    expect(brief(v)).toEqual(['Deployment apps/web spec.template.spec.imagePullSecrets[0].name']);
  });

  test('ExternalSecret keys: dataFrom brings any key; a template with data replaces the data keys', () => {
    const anyKey = { ...externalSecret('apps', 'db'), spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 'vault' }, dataFrom: [{ extract: { key: 'db' } }] } };
    expect(run([f('db.yaml', anyKey), ...declarations.slice(1), f('web.yaml', app({ secretKey: 'anything' }))])).toEqual([]);
    const templated = { ...externalSecret('apps', 'db'), spec: { ...externalSecret('apps', 'db').spec, target: { template: { data: { dsn: 'postgres://u:{{ .password }}@db' } } } } };
    expect(brief(run([f('db.yaml', templated), ...declarations.slice(1), f('web.yaml', app())]))).toEqual(['Deployment apps/web spec.template.spec.containers[0].env[0].valueFrom.secretKeyRef.key']);
  });

  test('a Secret a controller creates at run time is declared in options.runtimeObjects, in one namespace or all', () => {
    const chartPod = deployment('keda', 'keda-webhooks', {
      containers: [{ name: 'w', image: 'w:1.0.0' }],
      volumes: [{ name: 'certs', secret: { secretName: 'kedaorg-certs', items: [{ key: 'tls.crt', path: 'tls.crt' }] } }, { name: 'mesh', configMap: { name: 'istio-ca-root-cert' } }],
    });
    const files = [f('keda (chart) webhooks.yaml', chartPod, 'keda')];
    const v = run(files);
    expect(brief(v)).toEqual(['Deployment keda/keda-webhooks spec.template.spec.volumes[0].secret.secretName', 'Deployment keda/keda-webhooks spec.template.spec.volumes[1].configMap.name']);
    expect(v[0].fix).toContain('rendered by the chart of Application keda');
    const runtimeObjects: RuntimeObject[] = [
      { kind: 'Secret', namespace: 'keda', name: 'kedaorg-certs', keys: ['ca.crt', 'tls.crt', 'tls.key'], createdBy: 'keda-operator' },
      { kind: 'ConfigMap', name: 'istio-ca-root-cert', keys: ['root-cert.pem'], createdBy: 'istiod' },
    ];
    expect(run(files, { runtimeObjects })).toEqual([]);
    expect(run(files, { runtimeObjects: [{ ...runtimeObjects[0], keys: ['ca.crt'] }, runtimeObjects[1]] })).toHaveLength(1);
  });

  test('Istio-injected pods read istio-ca-root-cert', () => {
    const ns: M = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps', labels: { 'istio-injection': 'enabled' } } };
    const v = run([...declarations, f('web.yaml', app()), f('ns.yaml', ns)]);
    expect(brief(v)).toEqual(['Deployment apps/web spec.template.metadata']);
    expect(run([...declarations, f('web.yaml', app()), f('ns.yaml', ns)], { runtimeObjects: [{ kind: 'ConfigMap', name: 'istio-ca-root-cert', createdBy: 'istiod' }] })).toEqual([]);
  });

  test('monitor credentials and the secrets of an Alertmanager are checked too', () => {
    const monitor: M = {
      apiVersion: 'monitoring.coreos.com/v1', kind: 'PodMonitor', metadata: { name: 'jenkins', namespace: 'monitoring' },
      spec: { selector: {}, podMetricsEndpoints: [{ port: 'http', basicAuth: { username: { name: 'jenkins-auth', key: 'username' }, password: { name: 'jenkins-auth', key: 'token' } } }] },
    };
    const auth = { ...externalSecret('monitoring', 'jenkins-auth'), spec: { secretStoreRef: { kind: 'ClusterSecretStore', name: 'v' }, data: [{ secretKey: 'username', remoteRef: { key: 'u' } }, { secretKey: 'password', remoteRef: { key: 'p' } }] } };
    const am: M = { apiVersion: 'monitoring.coreos.com/v1', kind: 'Alertmanager', metadata: { name: 'am', namespace: 'monitoring' }, spec: { secrets: ['alertmanager-slack'] } };
    expect(brief(run([f('m.yaml', monitor), f('a.yaml', auth), f('am.yaml', am)]))).toEqual([
      'Alertmanager monitoring/am spec.secrets[0]',
      'PodMonitor monitoring/jenkins spec.podMetricsEndpoints[0].basicAuth.password.key',
    ]);
  });
});
