import { usedSecrets } from '../lib/secrets';
import { composePlatform } from '../charts/platform';
import { endpoints, environmentsOverview, inventory } from '../lib/inventory';
import { buildPlatform, renderFiles } from '../lib/platform';
import { labConfig } from './helpers';

const platform = buildPlatform(composePlatform(labConfig()));
const files = renderFiles(platform);
const md = inventory(platform, files);

describe('inventory', () => {
  test('lists every Application with its source, namespace and wave', () => {
    for (const f of files.filter((x) => x.path.startsWith('apps/'))) {
      const a = f.manifest as any;
      const row = md.split('\n').find((l) => l.includes(`| \`${a.metadata.name}\` |`));
      expect(row).toBeDefined();
      expect(row).toContain(`| ${a.metadata.annotations['argocd.argoproj.io/sync-wave']} |`);
      for (const src of [a.spec.source, ...(a.spec.sources ?? [])].filter(Boolean)) expect(row).toContain(src.chart ? `\`${src.targetRevision}\`` : `\`${src.path}\``);
    }
    // What each chart renders is counted (it was looked up by the wrong name once, and showed 0).
    expect(md).toMatch(/\| `cert-manager-lab` \| chart `cert-manager` `v1\.21\.1` .* \| [1-9]\d* rendered, 3 written \|/);
  });

  test('lists the public endpoints with TLS secret and issuer', () => {
    expect(md).toContain('| `jenkins.k-tech.cloud` | Ingress devops-tools/jenkins | `jenkins-secret` | `letsencrypt` | `jenkins-service:8080` | `devops-tools` |');
    // A chart's Ingress is read from its render, backends included: Harbor's, with the Certificate of the harbor component.
    expect(md).toContain('| `harbor.k-tech.cloud` | Ingress devops-tools/harbor-ingress | `harbor-secret` | `letsencrypt` | `harbor-portal:80` | `devops-tools` |');
    expect(md).toContain('| `harbor.k-tech.cloud/v2/` | Ingress devops-tools/harbor-ingress | `harbor-secret` | `letsencrypt` | `harbor-core:80` | `devops-tools` |');
    const harbor = platform.components.find((c) => c.name === 'harbor')!.appliedManifests;
    expect(harbor.filter((m) => m.kind === 'Ingress').map((m) => m.metadata.name)).toEqual(['harbor-ingress']);
    for (const name of ['harbor-portal', 'harbor-core']) {
      const svc = harbor.find((m) => m.kind === 'Service' && m.metadata.name === name) as any;
      expect(svc.spec.ports.map((p: any) => p.port)).toContain(80);
    }
  });

  test('an Ingress endpoint shows its backend; a Gateway shows its VirtualService destination', () => {
    const objs = [
      { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'p', namespace: 'm' }, spec: { secretName: 'p', dnsNames: ['p.x'], issuerRef: { name: 'le' } } },
      { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'p', namespace: 'm' }, spec: { tls: [{ hosts: ['p.x'], secretName: 'p' }], rules: [{ host: 'p.x', http: { paths: [{ path: '/', backend: { service: { name: 'prom', port: { number: 9090 } } } }] } }] } },
      { apiVersion: 'cert-manager.io/v1', kind: 'Certificate', metadata: { name: 'w', namespace: 'istio-system' }, spec: { secretName: 'w', dnsNames: ['w.x'], issuerRef: { name: 'le2' } } },
      { apiVersion: 'networking.istio.io/v1', kind: 'Gateway', metadata: { name: 'gw' }, spec: { servers: [{ hosts: ['w.x'], tls: { credentialName: 'w' } }] } },
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: 'vs' }, spec: { hosts: ['w.x'], gateways: ['gw'], http: [{ route: [{ destination: { host: 'web', port: { number: 80 } } }] }] } },
    ];
    expect(endpoints(objs)).toEqual([
      { host: 'p.x', via: 'Ingress m/p', tlsSecret: 'p', issuer: 'le', backend: 'prom:9090', namespace: 'm' },
      { host: 'w.x', via: 'Gateway (default)/gw', tlsSecret: 'w', issuer: 'le2', backend: 'web:80', namespace: '' },
    ]);
  });

  test('lists every declared secret with backend and consumers', () => {
    expect(md).toContain('Backend: `external-secrets`.');
    expect(md).toMatch(/\| `harbor-secrets` \| Opaque \| `devops-tools` \| .* \| harbor \(devops-tools\) \|/);
    for (const d of usedSecrets(platform.app)) expect(md).toContain(`| \`${d.name}\` |`);
  });

  test('the diagrams are Mermaid flowcharts of plain statements', () => {
    const blocks = [...md.matchAll(/```mermaid\n([\s\S]*?)```/g)].map((m) => m[1]);
    // The app of apps, the traffic paths, who may call whom (its edges carry the ports as a label).
    expect(blocks.length).toBe(3);
    const statement = /^(flowchart LR|  [A-Za-z0-9_]+\["[^"\n]*"\]|  subgraph [A-Za-z0-9_]+\["[^"\n]*"\]|    [A-Za-z0-9_]+\["[^"\n]*"\]|  end|  [A-Za-z0-9_]+ -->(\|"[^"|\n]*"\|)? [A-Za-z0-9_]+)$/;
    for (const b of blocks) {
      const bad = b.trimEnd().split('\n').filter((l) => !statement.test(l));
      expect(bad).toEqual([]);
      // Every node an edge names is declared.
      const declared = new Set([...b.matchAll(/^\s+(?:subgraph )?([A-Za-z0-9_]+)\[/gm)].map((m) => m[1]));
      const used = [...b.matchAll(/^  ([A-Za-z0-9_]+) -->(?:\|"[^"|\n]*"\|)? ([A-Za-z0-9_]+)$/gm)].flatMap((m) => [m[1], m[2]]);
      expect(used.filter((u) => !declared.has(u))).toEqual([]);
    }
  });

  test('every wave edge points forward: a dependency is in an earlier wave', () => {
    const waveOf = new Map(files.filter((f) => f.path.startsWith('apps/')).map((f) => [f.manifest.metadata.name.replace(/-/g, '_'), Number((f.manifest.metadata as any).annotations['argocd.argoproj.io/sync-wave'])]));
    for (const [, from, to] of md.matchAll(/^  app_([A-Za-z0-9_]+) --> app_([A-Za-z0-9_]+)$/gm)) {
      expect(waveOf.get(from)!).toBeLessThan(waveOf.get(to)!);
    }
  });
});

describe('the environments side by side (gitops/README.md)', () => {
  const app = (name: string, chart?: string, version?: string) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: ${name}}
spec:
  destination: {server: https://kubernetes.default.svc, namespace: x}
  source: ${chart ? `{repoURL: https://charts.example.org, chart: ${chart}, targetRevision: ${version}}` : '{repoURL: https://git.example.org/r.git, path: gitops/x/y}'}
`;
  const overview = environmentsOverview(new Map([
    ['lab', new Map([['apps/application-istiod-lab.yaml', app('istiod-lab', 'istiod', '1.24.2')], ['apps/application-promtail-lab.yaml', app('promtail-lab', 'promtail', '6.17.1')], ['apps/application-jenkins-lab.yaml', app('jenkins-lab')]])],
    ['prod', new Map([['apps/application-istiod-prod.yaml', app('istiod-prod', 'istiod', '1.30.3')], ['apps/application-jenkins-prod.yaml', app('jenkins-prod')], ['README.md', '# Environment']])],
  ]));

  test('each component per environment: its chart version, its own manifests, or off; differences marked', () => {
    expect(overview).toContain('| `istiod` | istiod 1.24.2 | istiod 1.30.3 | yes |');
    expect(overview).toContain('| `promtail` | promtail 6.17.1 | off | yes |');
    expect(overview).toContain('| `jenkins` | manifests | manifests | – |');
    expect(overview).toContain('| `prod` | 2 | its own cluster | [prod/README.md](prod/README.md) |');
  });
});
