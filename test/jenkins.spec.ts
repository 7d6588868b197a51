import { labConfig, render } from './helpers';

const lab = render();
const NS = 'devops-tools';

describe('jenkins', () => {
  const sts = lab.get('StatefulSet', 'jenkins', NS);
  const pod = sts.spec.template.spec;
  const container = pod.containers[0];

  test('the controller image is pinned from config, never a floating tag', () => {
    expect(container.image).toBe('jenkins/jenkins:2.528.2-lts-jdk21');
    expect(() => labConfig((raw) => { raw.jenkins.image.tag = 'lts'; })).toThrow(/jenkins\.image\.tag: must be an exact tag/);
    expect(() => labConfig((raw) => { raw.jenkins.image.tag = 'latest'; })).toThrow(/jenkins\.image\.tag/);
  });

  test('the StatefulSet keeps the guide\'s probes, resources, volume and fsGroup', () => {
    expect(sts.spec.selector.matchLabels).toEqual({ app: 'jenkins-server' });
    expect(sts.spec.template.metadata.labels).toEqual({ app: 'jenkins-server' });
    expect(pod.securityContext).toEqual({ fsGroup: 1000, runAsUser: 1000 });
    expect(container.resources).toEqual({ limits: { memory: '2Gi', cpu: '1000m' }, requests: { memory: '500Mi', cpu: '500m' } });
    expect(container.livenessProbe).toEqual({ httpGet: { path: '/login', port: 8080 }, initialDelaySeconds: 90, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 5 });
    expect(container.readinessProbe).toEqual({ httpGet: { path: '/login', port: 8080 }, initialDelaySeconds: 60, periodSeconds: 10, timeoutSeconds: 5, failureThreshold: 3 });
    expect(container.volumeMounts).toEqual([{ name: 'jenkins-data', mountPath: '/var/jenkins_home' }]);
    expect(sts.spec.volumeClaimTemplates).toEqual([{ metadata: { name: 'jenkins-data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '5Gi' } } } }]);
    expect(sts.spec.serviceName).toBe('jenkins-service');
  });

  test('the Service selects the pods on 8080 and 50000', () => {
    const svc = lab.get('Service', 'jenkins-service', NS);
    expect(svc.spec.selector).toEqual(sts.spec.template.metadata.labels);
    expect(svc.spec.ports.map((p: any) => [p.name, p.port, p.targetPort])).toEqual([['http', 8080, 8080], ['http-agents', 50000, 50000]]);
  });

  test('RBAC: a namespaced Role for agent pods, no wildcard, no secrets, nothing cluster-wide', () => {
    expect(lab.in('jenkins').filter((f) => /^Cluster/.test(f.manifest.kind))).toEqual([]);
    const role = lab.get('Role', 'jenkins-admin', NS);
    for (const rule of role.rules) {
      expect(rule.apiGroups).toEqual(['']);
      expect(rule.resources).not.toContain('*');
      expect(rule.verbs).not.toContain('*');
    }
    expect(role.rules.flatMap((r: any) => r.resources).sort()).toEqual(['events', 'pods', 'pods/exec', 'pods/log']);
    const binding = lab.get('RoleBinding', 'jenkins-admin', NS);
    expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'jenkins-admin' });
    expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: NS }]);
  });

  test('agents pull from Harbor with the declared docker-config-secret (Kaniko\'s credentials)', () => {
    const agent = lab.get('ServiceAccount', 'jenkins-agent', NS);
    expect(agent.imagePullSecrets).toEqual([{ name: 'docker-config-secret' }]);
    expect(agent.automountServiceAccountToken).toBe(false);
    expect(lab.get('ExternalSecret', 'docker-config-secret', NS)).toBeDefined();
    expect(lab.wave('jenkins')).toBeGreaterThan(lab.wave('secrets'));
  });

  test('jenkins.<domain>: one route to the Service, TLS from the Certificate of the guide', () => {
    const ing = lab.get('Ingress', 'jenkins', NS);
    expect(ing.spec.ingressClassName).toBe('nginx');
    expect(ing.spec.tls).toEqual([{ hosts: ['jenkins.k-tech.cloud'], secretName: 'jenkins-secret' }]);
    // The guide's /agents route to the nonexistent jenkins-svc is gone: WebSocket agents use /.
    expect(ing.spec.rules).toEqual([{
      host: 'jenkins.k-tech.cloud',
      http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'jenkins-service', port: { number: 8080 } } } }] },
    }]);
    const cert = lab.get('Certificate', 'jenkins-secret', NS);
    expect(cert.spec).toMatchObject({ secretName: 'jenkins-secret', dnsNames: ['jenkins.k-tech.cloud'], issuerRef: { name: 'letsencrypt', kind: 'ClusterIssuer' } });
    expect(lab.wave('jenkins')).toBeGreaterThan(lab.wave('cert-manager'));
  });
});
