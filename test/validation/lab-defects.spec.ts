// The two broken references of the lab guide's hand-applied YAML (reference/r-d/argocd/argocd-ingress.yaml
// and reference/r-d/jenkins/jenkins-ingress.yaml + jenkins-service.yaml), inlined: the validator must
// catch both, and must accept the corrected versions.
import { formatViolations, ManifestFile, validateManifests } from '../../lib/validation';
import { brief, certificate, clusterIssuer, file, M, service } from './helpers';

const issuers = [
  file('cluster-issuers/clusterissuer-letsencrypt.yaml', clusterIssuer('letsencrypt', 'nginx')),
  file('cluster-issuers/clusterissuer-letsencrypt2.yaml', clusterIssuer('letsencrypt2', 'istio')),
];

/** reference/r-d/argocd/argocd-ingress.yaml, as the guide applies it. */
function argocdIngress(issuer: string): M {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name: 'argocd',
      namespace: 'argocd',
      annotations: {
        'cert-manager.io/cluster-issuer': issuer,
        'nginx.ingress.kubernetes.io/ssl-passthrough': 'true',
        'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
      },
    },
    spec: {
      tls: [{ hosts: ['argocd.k-tech.cloud'], secretName: 'argocd-server-tls' }],
      ingressClassName: 'nginx',
      rules: [{
        host: 'argocd.k-tech.cloud',
        http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'argocd-server', port: { name: 'https' } } } }] },
      }],
    },
  };
}

/** Service argocd-server, as the argo-cd chart renders it (chart objects are part of what is validated). */
const argocdServer: ManifestFile = {
  path: 'argo-cd/(chart) argo-cd/templates/argocd-server/service.yaml', application: 'argo-cd', rendered: true,
  manifest: service('argocd', 'argocd-server', [{ name: 'http', port: 80 }, { name: 'https', port: 443 }]),
};

describe('lab defect 1: ClusterIssuer letsencrypt-prod does not exist', () => {
  test('the Ingress annotated cert-manager.io/cluster-issuer: letsencrypt-prod is caught', () => {
    const v = validateManifests([...issuers, argocdServer, file('argocd/ingress-argocd.yaml', argocdIngress('letsencrypt-prod'))], {
      runtimeObjects: [{ kind: 'Secret', namespace: 'argocd', name: 'argocd-server-tls', createdBy: 'argocd-server' }],
    });
    expect(v).toEqual([{
      rule: 'issuer-exists',
      file: 'argocd/ingress-argocd.yaml',
      object: 'Ingress argocd/argocd',
      field: 'metadata.annotations["cert-manager.io/cluster-issuer"]',
      message: 'ClusterIssuer "letsencrypt-prod" does not exist; the ClusterIssuers are: letsencrypt, letsencrypt2',
      fix: expect.stringContaining('use "letsencrypt"'),
    }]);
    expect(formatViolations(v)).toContain('argocd/ingress-argocd.yaml\n  Ingress argocd/argocd  metadata.annotations["cert-manager.io/cluster-issuer"]  [issuer-exists]');
  });

  test('with the guide\'s Certificate next to it, the annotation is also caught as a second issuance', () => {
    const v = validateManifests([
      ...issuers,
      argocdServer,
      file('argocd/certificate-argocd-server-tls.yaml', certificate('argocd', 'argocd-server-tls', 'letsencrypt', 'argocd.k-tech.cloud')),
      file('argocd/ingress-argocd.yaml', argocdIngress('letsencrypt-prod')),
    ]);
    expect(brief(v)).toEqual([
      'ingress-tls-certificate Ingress argocd/argocd metadata.annotations["cert-manager.io/cluster-issuer"]',
      'issuer-exists Ingress argocd/argocd metadata.annotations["cert-manager.io/cluster-issuer"]',
    ]);
  });

  test('the corrected Ingress (no annotation, the Certificate fills the secret) passes', () => {
    const fixed = argocdIngress('letsencrypt');
    delete fixed.metadata.annotations['cert-manager.io/cluster-issuer'];
    expect(validateManifests([
      ...issuers,
      argocdServer,
      file('argocd/certificate-argocd-server-tls.yaml', certificate('argocd', 'argocd-server-tls', 'letsencrypt', 'argocd.k-tech.cloud')),
      file('argocd/ingress-argocd.yaml', fixed),
    ])).toEqual([]);
  });
});

/** reference/r-d/jenkins/jenkins-service.yaml */
const jenkinsService: M = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'jenkins-service', namespace: 'devops-tools' },
  spec: {
    selector: { app: 'jenkins-server' },
    type: 'ClusterIP',
    ports: [
      { name: 'http', protocol: 'TCP', port: 8080, targetPort: 8080 },
      { name: 'http-agents', protocol: 'TCP', port: 50000, targetPort: 50000 },
    ],
  },
};

/** reference/r-d/jenkins/jenkins-ingress.yaml, with the backend of /agents as given. */
function jenkinsIngress(agents: { name: string; port: M }): M {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: 'jenkins', namespace: 'devops-tools' },
    spec: {
      tls: [{ hosts: ['jenkins.k-tech.cloud'], secretName: 'jenkins-secret' }],
      ingressClassName: 'nginx',
      rules: [{
        host: 'jenkins.k-tech.cloud',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'jenkins-service', port: { number: 8080 } } } },
            { path: '/agents', pathType: 'Prefix', backend: { service: agents } },
          ],
        },
      }],
    },
  };
}

const jenkinsFiles = (ingress: M) => [
  ...issuers,
  file('jenkins/certificate-jenkins-secret.yaml', certificate('devops-tools', 'jenkins-secret', 'letsencrypt', 'jenkins.k-tech.cloud')),
  file('jenkins/service-jenkins-service.yaml', jenkinsService),
  file('jenkins/ingress-jenkins.yaml', ingress),
];

describe('lab defect 2: /agents routes to service jenkins-svc port agents, which does not exist', () => {
  test('the /agents backend is caught, and only it', () => {
    const v = validateManifests(jenkinsFiles(jenkinsIngress({ name: 'jenkins-svc', port: { name: 'agents' } })));
    expect(v).toEqual([{
      rule: 'ingress-backend',
      file: 'jenkins/ingress-jenkins.yaml',
      object: 'Ingress devops-tools/jenkins',
      field: 'spec.rules[0].http.paths[1].backend.service.name',
      message: 'backend Service "jenkins-svc" (port name "agents") does not exist in namespace devops-tools',
      fix: expect.stringContaining('Services in devops-tools: jenkins-service'),
    }]);
  });

  test('the right Service with the wrong port name is caught at the port name, with a suggestion', () => {
    const v = validateManifests(jenkinsFiles(jenkinsIngress({ name: 'jenkins-service', port: { name: 'agents' } })));
    expect(v).toEqual([expect.objectContaining({
      rule: 'ingress-backend',
      field: 'spec.rules[0].http.paths[1].backend.service.port.name',
      message: 'Service devops-tools/jenkins-service has no port named "agents" (its ports: http=8080, http-agents=50000)',
      fix: expect.stringMatching(/^use port name "http-agents"/),
    })]);
  });

  test('the corrected backend (jenkins-service, port http-agents) passes', () => {
    expect(validateManifests(jenkinsFiles(jenkinsIngress({ name: 'jenkins-service', port: { name: 'http-agents' } })))).toEqual([]);
  });
});
