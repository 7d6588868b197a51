// Config the cluster would refuse, and hostile or odd config input: each is refused at synth, naming the
// field and the fix, and cheaply.
import { TlsEndpoint } from '../lib/tls-endpoint';
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ConfigError, configFiles, ISTIO_SIDECAR_PORTS, loadConfig, MAX_CONFIG_BYTES, MAX_WORKLOAD_NAME, parseConfig,
  readConfigBytes } from '../lib/config';
import { labConfig, labRaw, render, tempDir } from './helpers';

/** The problems of a refused config, one per line. */
function problems(change: (raw: any) => void): string[] {
  try {
    labConfig(change);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error('config was accepted');
}

/** The one problem of a refused config. */
function problem(change: (raw: any) => void): string {
  const p = problems(change);
  expect(p).toHaveLength(1);
  return p[0];
}

const nginx = (raw: any) => raw.apps.workloads.nginx;
const workload = (name: string, subdomain?: string) => ({
  image: { repository: `harbor.k-tech.cloud/msa/${name}`, tag: '1' }, port: 8080, portName: 'http-web', version: 'v1', ...(subdomain ? { subdomain } : {}),
});

describe('derived names the API server would refuse', () => {
  test('a workload name whose Service <name>-service exceeds 63 characters names the key, the limit and the fix', () => {
    const long = `a${'b'.repeat(MAX_WORKLOAD_NAME)}`;
    const p = problem((r) => { r.apps.workloads[long] = workload('x'); });
    expect(p).toContain(`apps.workloads.${long}: workload name "${long}" is ${MAX_WORKLOAD_NAME + 1} characters; use at most ${MAX_WORKLOAD_NAME}`);
    expect(p).toContain('Service "<name>-service" fits the 63 characters of a DNS-1035 label; rename the workload');
    // The longest allowed name renders a valid Service name.
    const ok = `a${'b'.repeat(MAX_WORKLOAD_NAME - 1)}`;
    const c = labConfig((r) => { r.apps.workloads[ok] = workload('x'); });
    expect(`${Object.keys(c.apps.workloads).find((n) => n === ok)}-service`).toHaveLength(63);
  });

  test('a workload name starting with a digit (its Service would not be a DNS-1035 label) is refused', () => {
    expect(problem((r) => { r.apps.workloads['1web'] = workload('x'); })).toMatch(
      /^apps\.workloads\.1web: workload name "1web" must be lower-case letters, digits and "-", starting with a letter .*rename the workload/);
  });

  test('a bad workload key is named as the key, not "Invalid key in record"', () => {
    const p = problem((r) => { r.apps.workloads.Bad_Name = workload('x'); });
    expect(p).toMatch(/^apps\.workloads\.Bad_Name: workload name "Bad_Name" must be lower-case letters/);
    expect(p).not.toContain('Invalid key in record');
    expect(p).toContain('rename the workload');
  });

  test('label keys and values of nodeSelector, and annotation keys, are checked as Kubernetes checks them', () => {
    expect(problem((r) => { r.nodeSelector = { 'kubernetes.io/os': 'linux', 'bad key': 'x' }; }))
      .toMatch(/^nodeSelector\.bad key: label "bad key" must have a name part of 1 to 63 letters.*rename the key/);
    expect(problem((r) => { r.nodeSelector = { 'kubernetes.io/os': 'x'.repeat(64) }; }))
      .toMatch(/^nodeSelector\.kubernetes\.io\/os: must be a label value: at most 63 letters/);
    expect(problem((r) => { nginx(r).podAnnotations = { 'Example.COM/x': 'y' }; }))
      .toMatch(/^apps\.workloads\.nginx\.podAnnotations\.Example\.COM\/x: annotation "Example\.COM\/x" has a prefix that is not a DNS subdomain/);
    expect(problem((r) => { nginx(r).serviceAnnotations = { big: 'x'.repeat(256 * 1024) }; }))
      .toMatch(/^apps\.workloads\.nginx\.serviceAnnotations: must total at most 262144 characters.*move large content into a ConfigMap/);
  });

  test('an environment name too long for the root Application platform-<environment> is refused with the fix', () => {
    const env = 'e'.repeat(55);
    expect(() => labConfig(undefined, `config/${env}.yaml`)).toThrow(/environment name "e+" .*is 55 characters; use at most 54.*rename the file/);
    expect(labConfig(undefined, `config/${'e'.repeat(54)}.yaml`).environment).toHaveLength(54);
  });
});

describe('hosts', () => {
  /** The config error of building the lab with `change`: the endpoints of the tree, taken together. */
  const endpointProblem = (change: (raw: any) => void): string => {
    try {
      render(labConfig(change));
    } catch (e) {
      return (e as Error).message;
    }
    throw new Error('the platform was built');
  };

  test('a host over 253 characters is refused on the field that makes it, with the fix', () => {
    const domain = `${Array.from({ length: 3 }, () => 'd'.repeat(60)).join('.')}.example.com`; // 194 characters
    const p = endpointProblem((r) => { r.domain = domain; nginx(r).subdomain = 's'.repeat(63); });
    expect(p).toMatch(/^config\/lab\.yaml: invalid platform config\n {2}- apps\.workloads\.nginx\.subdomain: makes the host s+\.<domain> 258 characters, over the 253 of a host name; use a shorter subdomain$/);
  });

  test('a domain so long that a platform host exceeds 253 characters is refused once, on domain, with the longest domain allowed', () => {
    const domain = `${Array.from({ length: 4 }, () => 'd'.repeat(59)).join('.')}.example.com`; // 251 characters
    const p = endpointProblem((r) => { r.domain = domain; delete nginx(r).subdomain; });
    expect(p.split('\n').filter((l) => l.startsWith('  - '))).toEqual([
      '  - domain: makes the host alertmanager.<domain> (kube-prometheus-stack) 264 characters, over the 253 of a host name; use a domain of at most 240 characters',
    ]);
  });

  test('a Certificate commonName stays within 64 bytes: a longer host is only in dnsNames', () => {
    // A long label of the workload's own (a long domain would do too, but would make every chart render anew).
    const subdomain = 'w'.repeat(60);
    const lab = render(labConfig((r) => { r.apps.workloads.nginx.subdomain = subdomain; }));
    const cert = lab.get('Certificate', 'nginx-secret');
    expect(cert.spec.commonName).toBeUndefined();
    expect(cert.spec.dnsNames).toEqual([`${subdomain}.k-tech.cloud`]);
    // Every other Certificate (hosts under the lab's short domain) keeps its commonName, within the limit.
    for (const c of lab.all('Certificate')) {
      const spec = (c as any).spec;
      if (spec.commonName !== undefined) expect(Buffer.byteLength(spec.commonName)).toBeLessThanOrEqual(64);
      expect(spec.dnsNames).toHaveLength(1);
    }
    // A short host keeps its commonName, as before.
    expect(render().get('Certificate', 'nginx-secret').spec.commonName).toBe('www.k-tech.cloud');
  });

  test('two workloads on one host are refused, naming both and the fix', () => {
    const p = endpointProblem((r) => { r.apps.workloads.shop = workload('shop', 'www'); });
    expect(p).toContain('apps.workloads.shop.subdomain: makes the host www.k-tech.cloud, which apps.workloads.nginx.subdomain serves too; ' +
      'two routes for one host would split its traffic and its certificate; choose another host for one of them (the platform\'s own: alertmanager, argocd, dashboard, grafana, harbor, jenkins, prometheus)');
  });

  // Every host a component's endpoint serves, read from the built platform (no list of them exists to drift).
  const platformHosts = render().platform!.app.node.findAll().filter((c): c is TlsEndpoint => c instanceof TlsEndpoint)
    .filter((e) => !e.origin.startsWith('apps.')).map((e) => [e.host.replace(/\.k-tech\.cloud$/, ''), e.origin]);
  test('the platform has hosts to collide with', () => {
    expect(platformHosts.map(([sub]) => sub).sort()).toEqual(expect.arrayContaining(['argocd', 'grafana', 'harbor', 'jenkins']));
  });
  test.each(platformHosts)('a workload on the platform host %s.<domain> is refused, naming %s', (sub, owner) => {
    const p = endpointProblem((r) => { nginx(r).subdomain = sub; });
    expect(p).toContain(`apps.workloads.nginx.subdomain: makes the host ${sub}.k-tech.cloud, which ${owner} serves too`);
    expect(p).toContain('choose another host');
  });
});

describe('a workload that would share objects with the platform', () => {
  test.each([
    ['devops-tools', 'harbor.namespace, jenkins.namespace'],
    ['monitoring', 'kubePrometheusStack.namespace, promtail.namespace'],
    ['istio-system', 'istio.namespace, kiali.namespace'],
  ])('apps.namespace %s is refused before any object is built, naming the components and the fix', (ns, owners) => {
    const p = problem((r) => { r.apps.namespace = ns; r.istio.injectionNamespaces = [ns]; });
    expect(p).toContain(`apps.namespace: "${ns}" is also ${owners}: a workload's Deployment "<name>" or Service "<name>-service" could be an object of the platform's`);
    expect(p).toContain('give the workloads a namespace of their own, such as apps');
  });

  test.each([
    ['docker-config', 'the Harbor image pull secret (REGISTRY_CREDENTIALS of lib/secrets.ts)'],
    ['istio-ca', 'istiod\'s self-signed root CA'],
  ])('a workload %s whose TLS secret <name>-secret in the gateway namespace is the platform\'s is refused', (name, owner) => {
    const p = problem((r) => { r.apps.workloads[name] = workload(name, `x${name}`); });
    expect(p).toContain(`apps.workloads.${name}: the workload's TLS secret "${name}-secret" in istio-system (where the ingress gateway reads it) is already ${owner}`);
    expect(p).toContain('rename the workload');
    // Without a host there is no Certificate, and nothing to refuse.
    expect(Object.keys(labConfig((r) => { r.apps.workloads[name] = workload(name); }).apps.workloads)).toContain(name);
  });

  test('a workload whose TLS secret is another endpoint\'s (Kiali\'s dashboard-secret in istio-system) is refused from the tree', () => {
    let message = '';
    try {
      render(labConfig((r) => { r.apps.workloads.dashboard = workload('dashboard', 'xdashboard'); }));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toContain('apps.workloads.dashboard: its TLS secret "dashboard-secret" in istio-system is also kiali\'s; each Certificate would overwrite the other\'s; rename the workload');
  });

  test('Kubernetes\' own namespaces are refused', () => {
    expect(problem((r) => { r.apps.namespace = 'kube-system'; })).toMatch(/^apps\.namespace: "kube-system" is Kubernetes' own namespace; give the workloads a namespace of their own/);
  });

  test('a namespace of their own is accepted', () => {
    expect(labConfig((r) => { r.apps.namespace = 'apps'; r.istio.injectionNamespaces = ['apps']; }).apps.namespace).toBe('apps');
  });
});

describe('ports the Istio sidecar holds', () => {
  test.each([...ISTIO_SIDECAR_PORTS.keys()])('port %i is refused for a workload, naming the port, its use and the fix', (port) => {
    const p = problem((r) => { nginx(r).port = port; });
    expect(p).toMatch(new RegExp(`^apps\\.workloads\\.nginx\\.port: ${port} is a port of the Istio sidecar \\(${ISTIO_SIDECAR_PORTS.get(port)}\\).*use another port`));
  });

  test('metricsPort too, in any apps namespace: the pods are labelled for injection', () => {
    const p = problem((r) => { r.apps.namespace = 'shop'; r.istio.injectionNamespaces = []; r.apps.workloads['login-js'].metricsPort = 15090; });
    expect(p).toMatch(/^apps\.workloads\.login-js\.metricsPort: 15090 is a port of the Istio sidecar \(Envoy Prometheus telemetry\), which runs in every workload pod \(sidecar\.istio\.io\/inject\)/);
  });

  test('ports between the sidecar\'s are fine', () => {
    expect(labConfig((r) => { nginx(r).port = 15002; }).apps.workloads.nginx.port).toBe(15002);
  });

  test('portName "http-metrics" beside a metricsPort (two ports of one name) is refused', () => {
    expect(problem((r) => { r.apps.workloads['login-js'].portName = 'http-metrics'; })).toMatch(
      /^apps\.workloads\.login-js\.portName: must not be "http-metrics" when metricsPort is set.*choose another name/);
  });
});

describe('hostile input stays cheap', () => {
  /** A "billion laughs": each level nine aliases of the one before; `levels` 12 is 9^12 (282 billion) strings. */
  function laughs(levels: number): string {
    let text = 'domain: &l0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n';
    for (let i = 1; i <= levels; i++) text += `k${i}: &l${i} [${Array(9).fill(`*l${i - 1}`).join(', ')}]\n`;
    return text;
  }

  test('an alias bomb is refused by counting, before anything walks it as a tree', () => {
    // 282 billion strings would take days and terabytes to walk; the refusal counts each shared list once.
    expect(() => parseConfig(laughs(12), 'config/lab.yaml')).toThrow(
      /config\/lab\.yaml: invalid platform config\n {2}- not valid config YAML: its aliases \(\*name\) expand to more than 10000 values beyond the file's own \(a "billion laughs" file\); write the values out/);
  });

  test('a few aliases are fine', () => {
    const text = fs.readFileSync(path.join(__dirname, '..', 'config', 'lab.yaml'), 'utf8')
      .replace('  namespace: ingress-nginx\n', '  namespace: &ingress ingress-nginx\n')
      .replace('nodeSelector:\n  kubernetes.io/os: linux\n', 'nodeSelector: &linux\n  kubernetes.io/os: linux\n');
    expect(text).toContain('&linux');
    expect(parseConfig(text, 'config/lab.yaml').nodeSelector).toEqual({ 'kubernetes.io/os': 'linux' });
  });

  test('an alias that contains itself is refused (it would never finish)', () => {
    expect(() => parseConfig('domain: &a [*a]\n', 'config/lab.yaml')).toThrow(/an alias \(\*name\) refers to a collection that contains the alias itself/);
  });

  test('too many aliases and too deep nesting are refused with the line', () => {
    const many = `a: &a x\nb: [${Array(1001).fill('*a').join(', ')}]\n`;
    expect(() => parseConfig(many, 'config/lab.yaml')).toThrow(/not valid YAML at line 2, column \d+: aliases exceeded maxAliases \(1000\); a config needs few aliases/);
    expect(() => parseConfig(`a: ${'['.repeat(100000)}`, 'config/lab.yaml')).toThrow(/not valid YAML at line 1, column \d+: nesting exceeded maxDepth \(64\); a config nests about 7 levels deep/);
  });

  test('a file over 1 MiB is refused without being read whole, and so is a text over 1 MiB', () => {
    const dir = tempDir();
    const big = path.join(dir, 'lab.yaml');
    fs.writeFileSync(big, `# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`);
    expect(() => loadConfig(big)).toThrow(/lab\.yaml: invalid platform config\n {2}- the file is over 1048576 bytes; a config file may have at most 1048576 \(1 MiB\)/);
    expect(() => parseConfig(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`, 'config/lab.yaml')).toThrow(/at most 1048576 \(1 MiB\)/);
  });

  test('a path that is not a regular file is refused, not read (a FIFO or /dev/zero never ends)', () => {
    const dir = tempDir();
    expect(() => readConfigBytes(dir)).toThrow(/the path is a directory; pass a config file/);
    if (fs.existsSync('/dev/zero')) expect(() => readConfigBytes('/dev/zero')).toThrow(/the path is not a regular file/);
  });

  test('a relative path that does not exist names the directory it was looked up in', () => {
    expect(() => loadConfig('config/no-such-env.yaml')).toThrow(new RegExp(`cannot read the file \\(ENOENT\\), looked up in ${process.cwd().replace(/[/\\]/g, '.')}`));
  });

  test('a duplicate key names its line', () => {
    expect(() => parseConfig('domain: a.com\ndomain: b.com\n', 'config/lab.yaml')).toThrow(/not valid YAML at line 2, column 1: duplicated mapping key; fix the syntax there/);
  });
});

describe('config/ holds environments only', () => {
  test('hidden, editor, backup and badly named files are ignored; links to files count', () => {
    const dir = tempDir();
    const lab = yaml.dump(labRaw());
    for (const f of ['lab.yaml', 'prod.yml', '.#lab.yaml', '.lab.yaml.swp', 'lab.yaml~', '#lab.yaml#', '.lab.yaml.new-123', 'Lab.yaml', 'notes.txt', 'lab.yaml.bak']) {
      fs.writeFileSync(path.join(dir, f), lab);
    }
    fs.symlinkSync(path.join(dir, 'lab.yaml'), path.join(dir, 'linked.yaml'));
    expect(configFiles(dir).map((f) => path.basename(f))).toEqual(['lab.yaml', 'linked.yaml', 'prod.yml']);
    expect(configFiles(path.join(dir, 'nope'))).toEqual([]);
  });

  test('an environment\'s file that cannot be read (a folder, a dangling link) is an error, not a file to skip', () => {
    const dir = tempDir();
    fs.mkdirSync(path.join(dir, 'dir.yaml'));
    expect(() => configFiles(dir)).toThrow(/dir\.yaml.*it is a folder/s);
    fs.rmdirSync(path.join(dir, 'dir.yaml'));
    fs.symlinkSync(path.join(dir, 'gone.yaml'), path.join(dir, 'dangling.yaml'));
    expect(() => configFiles(dir)).toThrow(/dangling\.yaml.*a link whose target is missing/s);
  });
});
