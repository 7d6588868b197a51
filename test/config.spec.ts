import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError, loadConfig, parseConfig } from '../lib/config';
import { chartSource } from '../lib/versions';
import { labConfig, labRaw, tempDir } from './helpers';

function problemsOf(change: (raw: any) => void, file = 'config/lab.yaml'): string {
  try {
    labConfig(change, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error('config was accepted');
}

describe('platform config', () => {
  test('the lab config reproduces the guide', () => {
    const c = labConfig();
    expect(c.environment).toBe('lab');
    expect(c.domain).toBe('k-tech.cloud');
    expect(c.exposure).toEqual({ kind: 'ingress', ingressClass: 'nginx' });
    expect(c.deployRepo).toEqual({ url: 'https://github.com/kangbock/msa_deploy.git', revision: 'main', path: 'gitops' });
    // The lab runs versions.yaml's default chart versions: it overrides none.
    expect(chartSource('cert-manager', c.certManager.chartVersion).version).toBe('v1.21.1');
    expect(chartSource('ingress-nginx', c.ingressNginx?.chartVersion).version).toBe('4.15.1');
    expect(chartSource('harbor', c.harbor?.chartVersion).version).toBe('1.19.1');
    // The ACME contact lives at the platform's domain, not at the guide author's personal address.
    expect(c.certManager.acmeEmail).toMatch(/@k-tech\.cloud$/);
  });

  test('the config object is frozen', () => {
    const c = labConfig();
    expect(() => { (c as any).domain = 'x.org'; }).toThrow();
  });

  test('missing domain names the file and the field', () => {
    const msg = problemsOf((r) => { delete r.domain; });
    expect(msg).toContain('config/lab.yaml');
    expect(msg).toMatch(/domain: is required/);
  });

  test('malformed e-mail names the field and what is allowed, never the value (it could be a secret)', () => {
    const msg = problemsOf((r) => { r.certManager.acmeEmail = 'ops-at-k-tech.cloud'; });
    expect(msg).toContain('certManager.acmeEmail');
    expect(msg).not.toContain('ops-at-k-tech.cloud');
    expect(msg).toContain('value not shown');
    expect(msg).toContain('must be an e-mail address');
  });

  test('an unknown issuer name lists the declared ones', () => {
    const msg = problemsOf((r) => { r.certManager.ingressIssuer = 'letsencrypt-prod'; });
    expect(msg).toContain('certManager.ingressIssuer');
    expect(msg).toContain('letsencrypt-prod');
    expect(msg).toContain('allowed: letsencrypt, letsencrypt2, letsencrypt-staging');
  });

  test('an ingress issuer that solves through another class is refused', () => {
    const msg = problemsOf((r) => { r.certManager.ingressIssuer = 'letsencrypt2'; });
    expect(msg).toMatch(/certManager\.ingressIssuer: issuer "[a-z0-9-]+" solves HTTP-01 through ingress class "istio", but Ingresses use "nginx", so the challenge would never reach the host; choose an issuer whose http01IngressClass is "nginx"/);
  });

  test('an unknown key is refused, with the allowed keys', () => {
    const msg = problemsOf((r) => { r.harbor.chartVerison = '1.19.1'; });
    expect(msg).toContain('harbor: unknown field "chartVerison"; allowed here: namespace, chartVersion');
  });

  test('an unknown top-level key is refused', () => {
    const msg = problemsOf((r) => { r.domian = 'x'; });
    expect(msg).toMatch(/unknown field "domian"; allowed here: domain, cluster, exposure/);
  });

  test('the cluster is required: the Kubernetes minor the charts render for, who runs the control plane, and its size (standard unless said)', () => {
    expect(labConfig().cluster).toEqual({ kubernetesVersion: '1.31', provider: 'aks', size: 'standard' });
    expect(problemsOf((r) => { delete r.cluster; })).toMatch(/cluster: is required/);
    expect(problemsOf((r) => { delete r.cluster.kubernetesVersion; })).toMatch(/cluster\.kubernetesVersion: is required/);
    for (const v of ['1.27', '1.37', '1.31.2', 'v1.31', 1.31]) {
      expect(problemsOf((r) => { r.cluster.kubernetesVersion = v; })).toContain('cluster.kubernetesVersion');
    }
    expect(labConfig((r) => { r.cluster.kubernetesVersion = '1.28'; }).cluster.kubernetesVersion).toBe('1.28');
    expect(problemsOf((r) => { r.cluster.provider = 'eks'; })).toMatch(/cluster\.provider: .*must be "aks" or "self-managed"/);
    expect(labConfig((r) => { r.cluster.provider = 'self-managed'; }).cluster.provider).toBe('self-managed');
  });

  test('a chart version range is refused', () => {
    const msg = problemsOf((r) => { r.harbor.chartVersion = '^1.19.0'; });
    expect(msg).toContain('harbor.chartVersion: must be an exact chart version');
  });

  test('a duplicate issuer is refused', () => {
    const msg = problemsOf((r) => { r.certManager.issuers.push({ ...r.certManager.issuers[0] }); });
    expect(msg).toContain('certManager.issuers.3.name: issuer "letsencrypt" is declared twice');
  });

  test('unparsable YAML names the file and the line', () => {
    expect(() => parseConfig('domain: [k-tech.cloud\n', 'config/broken.yaml')).toThrow(/config\/broken\.yaml: invalid platform config\n  - not valid YAML at line 2, column 1: deficient indentation/);
  });

  test('a YAML list instead of a mapping is refused', () => {
    expect(() => parseConfig('- a\n- b\n', 'config/x.yaml')).toThrow(/must hold a YAML mapping/);
  });

  test('the environment name comes from the file name and must be a DNS label', () => {
    expect(labConfig(undefined, 'config/prod-eu.yaml').environment).toBe('prod-eu');
    expect(() => labConfig(undefined, 'config/Prod_EU.yaml')).toThrow(/environment name "Prod_EU"/);
  });

  test('a missing file is a config error naming it', () => {
    expect(() => loadConfig(path.join(tempDir(), 'nope.yaml'))).toThrow(/nope\.yaml: .*cannot read the file \(ENOENT\)/s);
  });

  test('every problem is reported at once', () => {
    const raw = labRaw();
    delete raw.domain;
    raw.ingressNginx.namespace = 'Ingress_Nginx';
    const dir = tempDir();
    const file = path.join(dir, 'lab.yaml');
    fs.writeFileSync(file, yaml.dump(raw));
    try {
      loadConfig(file);
      throw new Error('accepted');
    } catch (e) {
      expect((e as ConfigError).problems).toHaveLength(2);
      expect((e as Error).message).toContain('ingressNginx.namespace: must be a DNS-1123 label');
    }
  });
});
