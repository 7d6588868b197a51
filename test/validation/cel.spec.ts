// CEL rules of CRD schemas (lib/validation/cel.ts), on the real rules of the Gateway API v1.6.1 and Istio
// 1.30 CRDs: test/validation/fixtures/crds.json is their bundle as scripts/gen-schemas.js writes it
// (`npm run gen:cel-fixture`), so the tests read nothing outside the repo.
import * as fs from 'fs';
import * as path from 'path';
import { SchemaCache, validate } from '../../lib/validation';
import { compileRule, escapeProperty, evaluateCelRules, parseFieldPath, withDefaults } from '../../lib/validation/cel';
import { isKubernetesIp, parseRequestUri } from '../../lib/validation/cel-library';
import { fieldPath } from '../../lib/validation/schema';
import { file, M } from './helpers';

const fixture = JSON.parse(fs.readFileSync(path.join(__dirname, 'fixtures', 'crds.json'), 'utf8')) as {
  kinds: Record<string, { crd: string; schema?: M; sameAs?: string }>;
};

function schemaOf(apiVersion: string, kind: string): M {
  let entry = fixture.kinds[`${apiVersion}/${kind}`];
  if (!entry) throw new Error(`no ${apiVersion}/${kind} in the fixture bundle`);
  if (entry.sameAs) entry = fixture.kinds[entry.sameAs];
  return entry.schema!;
}

/** The failed rules of an object: `field: message`. */
function failures(o: M): string[] {
  return evaluateCelRules(schemaOf(o.apiVersion, o.kind), o).violations.map((v) => `${fieldPath([...v.path])}: ${v.message}`);
}

function outcome(o: M) {
  return evaluateCelRules(schemaOf(o.apiVersion, o.kind), o);
}

const httpRoute = (rules: M[]): M => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'HTTPRoute',
  metadata: { name: 'web', namespace: 'apps' },
  spec: { parentRefs: [{ name: 'public', namespace: 'istio-ingress' }], hostnames: ['web.example.com'], rules },
});

const gateway = (listeners: M[]): M => ({
  apiVersion: 'gateway.networking.k8s.io/v1',
  kind: 'Gateway',
  metadata: { name: 'public', namespace: 'istio-ingress' },
  spec: { gatewayClassName: 'istio', listeners },
});

const httpsListener = (name = 'https', extra: M = {}): M => ({
  name, port: 443, protocol: 'HTTPS', hostname: '*.example.com',
  tls: { mode: 'Terminate', certificateRefs: [{ name: 'wildcard-tls' }] }, ...extra,
});

describe('Gateway API v1.6.1 rules', () => {
  test('an HTTPRoute PathPrefix match whose value does not start with "/" is refused with the rule\'s message, at the path match', () => {
    const route = httpRoute([{ matches: [{ path: { type: 'PathPrefix', value: 'api' } }], backendRefs: [{ name: 'web', port: 80 }] }]);
    expect(failures(route)).toEqual([
      'spec.rules[0].matches[0].path: value must be an absolute path and start with \'/\' when type one of [\'Exact\', \'PathPrefix\']',
    ]);
  });

  test('a valid HTTPRoute passes every rule, with none left unevaluated', () => {
    const route = httpRoute([
      { matches: [{ path: { type: 'PathPrefix', value: '/api' } }], backendRefs: [{ name: 'web', port: 80 }] },
      { matches: [{ path: { type: 'Exact', value: '/healthz' }, method: 'GET' }], filters: [{ type: 'RequestHeaderModifier', requestHeaderModifier: { set: [{ name: 'x-env', value: 'lab' }] } }], backendRefs: [{ name: 'web', port: 80 }] },
    ]);
    const r = outcome(route);
    expect(r.violations).toEqual([]);
    expect(r.notEvaluated).toEqual([]);
    expect(r.evaluated).toBeGreaterThan(20);
  });

  test('schema defaults are filled in before the rules run: a path match without value gets "/" (so the rule holds)', () => {
    const route = httpRoute([{ matches: [{ path: { type: 'PathPrefix' } }], backendRefs: [{ name: 'web', port: 80 }] }]);
    const schema = schemaOf('gateway.networking.k8s.io/v1', 'HTTPRoute');
    expect((withDefaults(schema, route, schema) as M).spec.rules[0].matches[0].path).toEqual({ type: 'PathPrefix', value: '/' });
    expect(route.spec.rules[0].matches[0].path).toEqual({ type: 'PathPrefix' });
    expect(outcome(route)).toMatchObject({ violations: [], notEvaluated: [] });
  });

  test('a filter whose type does not match its field, and a path with "//", are each refused', () => {
    const route = httpRoute([{
      matches: [{ path: { type: 'Exact', value: '/a//b' } }],
      filters: [{ type: 'ResponseHeaderModifier', requestHeaderModifier: { set: [{ name: 'x', value: 'y' }] } }],
      backendRefs: [{ name: 'web', port: 80 }],
    }]);
    expect(failures(route)).toEqual(expect.arrayContaining([
      'spec.rules[0].matches[0].path: must not contain \'//\' when type one of [\'Exact\', \'PathPrefix\']',
      'spec.rules[0].filters[0]: filter.requestHeaderModifier must be nil if the filter.type is not RequestHeaderModifier',
      'spec.rules[0].filters[0]: filter.responseHeaderModifier must be specified for ResponseHeaderModifier filter.type',
    ]));
  });

  test('a Gateway HTTP listener with tls, and an HTTPS listener in Passthrough mode, are refused', () => {
    const gw = gateway([
      { name: 'http', port: 80, protocol: 'HTTP', tls: { mode: 'Terminate', certificateRefs: [{ name: 'x' }] } },
      httpsListener('https', { tls: { mode: 'Passthrough' } }),
    ]);
    expect(failures(gw)).toEqual([
      "spec.listeners: tls must not be specified for protocols ['HTTP', 'TCP', 'UDP']",
      'spec.listeners: tls mode must be Terminate for protocol HTTPS',
    ]);
  });

  test('two Gateway listeners with one name are refused; distinct ones pass', () => {
    expect(failures(gateway([httpsListener('web'), httpsListener('web', { port: 8443 })]))).toEqual([
      'spec.listeners: Listener name must be unique within the Gateway',
    ]);
    expect(outcome(gateway([httpsListener('web'), httpsListener('api', { hostname: 'api.example.com' })]))).toMatchObject({ violations: [], notEvaluated: [] });
  });

  test('an HTTPS listener whose tls names no certificate is reported as not evaluated (the rule reads an absent field), never passed', () => {
    // `size(self.certificateRefs) > 0 || size(self.options) > 0` errs on a tls with neither (no such key):
    // the API server refuses such an object on the error; here it is a finding of its own.
    const r = outcome(gateway([httpsListener('web', { tls: { mode: 'Terminate' } })]));
    expect(r.violations).toEqual([]);
    expect(r.notEvaluated).toEqual([{ path: ['spec', 'listeners', 0, 'tls'], rule: expect.stringContaining('size(self.certificateRefs) > 0'), why: 'its evaluation failed: field not found: certificateRefs' }]);
  });

  test('a TLSRoute hostname that is an IP address is refused (isIP)', () => {
    const route = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'TLSRoute', metadata: { name: 't', namespace: 'apps' },
      spec: { hostnames: ['10.0.0.1'], rules: [{ backendRefs: [{ name: 'web', port: 443 }] }] } };
    expect(failures(route)).toContain('spec.hostnames: Hostnames cannot contain an IP');
    route.spec.hostnames = ['db.example.com'];
    expect(failures(route)).toEqual([]);
  });

  test('transition rules (oldSelf) are counted as not applicable to creation, neither evaluated nor passed', () => {
    const gc = { apiVersion: 'gateway.networking.k8s.io/v1', kind: 'GatewayClass', metadata: { name: 'istio' }, spec: { controllerName: 'istio.io/gateway-controller' } };
    const r = outcome(gc);
    expect(r.transitionRules).toBe(1);
    expect(r.evaluated).toBe(0);
    expect(r.violations).toEqual([]);
    expect(r.notEvaluated).toEqual([]);
  });

  test('a parentRef\'s `namespace` is read by the rules as __namespace__: two refs to one parent, one with a namespace, are told apart', () => {
    const route = httpRoute([{ backendRefs: [{ name: 'web', port: 80 }] }]);
    route.spec.parentRefs = [{ name: 'public', namespace: 'istio-ingress' }, { name: 'public' }];
    expect(outcome(route)).toMatchObject({ violations: [], notEvaluated: [] });
    route.spec.parentRefs = [{ name: 'public', namespace: 'istio-ingress', sectionName: 'https' }, { name: 'public', namespace: 'istio-ingress' }];
    expect(failures(route)).toEqual(['spec.parentRefs: sectionName must be specified when parentRefs includes 2 or more references to the same parent']);
  });
});

describe('Istio 1.30 rules', () => {
  const serviceEntry = (spec: M): M => ({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'db', namespace: 'apps' }, spec });

  test('a ServiceEntry with the default resolution (NONE) and endpoints is refused', () => {
    expect(failures(serviceEntry({ hosts: ['db.example.com'], ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }], endpoints: [{ address: '10.0.0.5' }] })))
      .toEqual(['spec: NONE mode cannot set endpoints']);
    expect(failures(serviceEntry({ hosts: ['db.example.com'], ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }], resolution: 'STATIC', endpoints: [{ address: '10.0.0.5' }] })))
      .toEqual([]);
  });

  test('duplicate port numbers and a wildcard host are refused', () => {
    expect(failures(serviceEntry({ hosts: ['*'], ports: [{ number: 80, name: 'a', protocol: 'HTTP' }, { number: 80, name: 'b', protocol: 'HTTP' }], resolution: 'DNS' })))
      .toEqual(['spec.hosts[0]: hostname cannot be wildcard', 'spec.ports: port number cannot be duplicated']);
  });

  test('a WasmPlugin url is checked with url().getScheme(): oci and scheme-less pass, ftp is refused', () => {
    const plugin = (url: string) => ({ apiVersion: 'extensions.istio.io/v1alpha1', kind: 'WasmPlugin', metadata: { name: 'p', namespace: 'apps' }, spec: { url } });
    expect(failures(plugin('oci://ghcr.io/example/filter:1.0'))).toEqual([]);
    expect(failures(plugin('ghcr.io/example/filter:1.0'))).toEqual([]);
    expect(failures(plugin('ftp://example.com/filter.wasm'))).toEqual(['spec.url: url must have schema one of [http, https, file, oci]']);
  });

  test('a DestinationRule idle timeout under 1ms is refused (duration())', () => {
    const dr = (idleTimeout: string) => ({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: 'web', namespace: 'apps' },
      spec: { host: 'web', trafficPolicy: { connectionPool: { http: { idleTimeout } } } } });
    expect(failures(dr('500us'))).toEqual(['spec.trafficPolicy.connectionPool.http.idleTimeout: must be a valid duration greater than 1ms']);
    expect(failures(dr('30s'))).toEqual([]);
  });
});

describe('rules that cannot be evaluated', () => {
  const schema: M = {
    type: 'object',
    properties: {
      spec: {
        type: 'object',
        'x-kubernetes-validations': [
          { rule: "quantity(self.size).isGreaterThan(quantity('1Gi'))", message: 'size must exceed 1Gi' },
          { rule: 'self.min <= ', message: 'broken' },
          { rule: 'self.size', message: 'not a boolean' },
        ],
        properties: { size: { type: 'string' }, min: { type: 'integer' } },
      },
    },
  };

  test('an unknown function, a parse error and a non-boolean result are each reported with why, never passed', () => {
    const r = evaluateCelRules(schema, { spec: { size: '2Gi', min: 1 } });
    expect(r.evaluated).toBe(0);
    expect(r.violations).toEqual([]);
    expect(r.notEvaluated.map((n) => n.why)).toEqual([
      expect.stringContaining('isGreaterThan(), quantity(), which this evaluator does not implement'),
      expect.stringContaining('does not parse'),
      'it gave "2Gi", not a boolean',
    ]);
  });

  test('an unknown function is found before evaluation, even on a branch this object does not take', () => {
    expect(compileRule("has(self.x) ? isQuantity(self.x) : true").unusable).toContain('isQuantity()');
  });
});

describe('rule details', () => {
  test('messageExpression is the message; fieldPath and reason place and name the refusal', () => {
    const schema: M = {
      type: 'object',
      properties: {
        spec: {
          type: 'object',
          'x-kubernetes-validations': [{
            rule: 'self.min <= self.max', message: 'static', messageExpression: "'min ' + string(self.min) + ' exceeds max ' + string(self.max)",
            fieldPath: ".limits['min']", reason: 'FieldValueForbidden',
          }],
          properties: { min: { type: 'integer' }, max: { type: 'integer', default: 10 } },
        },
      },
    };
    expect(evaluateCelRules(schema, { spec: { min: 12 } }).violations).toEqual([
      { path: ['spec', 'limits', 'min'], message: 'min 12 exceeds max 10', reason: 'FieldValueForbidden', rule: 'self.min <= self.max' },
    ]);
    expect(evaluateCelRules(schema, { spec: { min: 3 } }).violations).toEqual([]);
  });

  test('integers are CEL ints and numbers doubles, as the schema types them', () => {
    const schema: M = { type: 'object', properties: { spec: { type: 'object', 'x-kubernetes-validations': [{ rule: 'type(self.i) == int && type(self.d) == double && type(self.s) == string' }],
      properties: { i: { type: 'integer' }, d: { type: 'number' }, s: { 'x-kubernetes-int-or-string': true } } } } };
    expect(evaluateCelRules(schema, { spec: { i: 3, d: 3, s: '50%' } })).toMatchObject({ evaluated: 1, violations: [], notEvaluated: [] });
  });

  test('format date-time strings are timestamps and format byte strings bytes', () => {
    const schema: M = { type: 'object', properties: { spec: { type: 'object',
      'x-kubernetes-validations': [{ rule: "self.until < timestamp('2030-01-01T00:00:00Z') && size(self.key) == 3" }],
      properties: { until: { type: 'string', format: 'date-time' }, key: { type: 'string', format: 'byte' } } } } };
    expect(evaluateCelRules(schema, { spec: { until: '2029-06-01T00:00:00Z', key: 'AAEC' } })).toMatchObject({ evaluated: 1, violations: [], notEvaluated: [] });
    expect(evaluateCelRules(schema, { spec: { until: '2031-06-01T00:00:00Z', key: 'AAEC' } }).violations).toHaveLength(1);
  });

  test('property names are escaped as Kubernetes escapes them', () => {
    expect(['namespace', 'a-b', 'x.y', 'a/b', 'a__b', 'plain', '1st'].map(escapeProperty))
      .toEqual(['__namespace__', 'a__dash__b', 'x__dot__y', 'a__slash__b', 'a__underscores__b', 'plain', undefined]);
  });

  test('fieldPath accepts .name, [\'key\'] and [index], and nothing else', () => {
    expect(parseFieldPath(".spec.ports[0]['a.b']")).toEqual(['spec', 'ports', 0, 'a.b']);
    expect(parseFieldPath('spec')).toBeUndefined();
  });
});

describe('Kubernetes library functions', () => {
  test('isURL follows Go\'s ParseRequestURI: an absolute URI or an absolute path', () => {
    expect(['https://example.com/a?b=c', 'oci://ghcr.io/x:1', '/just/a/path', 'http://[::1]:8080/', 'mailto:a@b'].filter((u) => !parseRequestUri(u))).toEqual([]);
    expect(['example.com/x', 'relative', '', 'http://exa mple.com/', 'http://a:port/', ':nope'].filter((u) => parseRequestUri(u))).toEqual([]);
    expect(parseRequestUri('HTTPS://User@Example.com:8443/p%20q?x=1')).toEqual({
      scheme: 'https', host: 'Example.com:8443', hostname: 'Example.com', port: '8443', escapedPath: '/p%20q', rawQuery: 'x=1',
    });
  });

  test('isIP refuses IPv4 octets with leading zeros, IPv4-mapped IPv6 and zones', () => {
    expect(['10.0.0.1', '::1', '2001:db8::5'].every(isKubernetesIp)).toBe(true);
    expect(['010.0.0.1', '::ffff:10.0.0.1', '::ffff:a00:1', 'fe80::1%eth0', 'example.com', '256.1.1.1'].some(isKubernetesIp)).toBe(false);
  });
});

describe('in the validator', () => {
  const crd: M = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'widgets.example.com' },
    spec: {
      group: 'example.com', scope: 'Namespaced',
      names: { kind: 'Widget', plural: 'widgets', singular: 'widget', listKind: 'WidgetList' },
      versions: [{
        name: 'v1', served: true, storage: true,
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                type: 'object',
                'x-kubernetes-validations': [
                  { rule: 'self.min <= self.max', message: 'min must not exceed max' },
                  { rule: "!has(self.size) || quantity(self.size).isLessThan(quantity('1Ti'))", message: 'size must be under 1Ti' },
                  { rule: 'self.max == oldSelf.max', message: 'max is immutable' },
                ],
                properties: { min: { type: 'integer' }, max: { type: 'integer' }, size: { type: 'string' } },
              },
            },
          },
        },
      }],
    },
  };
  const widget = (spec: M): M => ({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w', namespace: 'default' }, spec });

  test('a false rule is a `cel` violation naming the object, the field, the message, the CRD and the rule', () => {
    const r = validate([file('crd.yaml', crd), file('widget.yaml', widget({ min: 5, max: 2 }))]);
    expect(r.violations).toEqual([{
      rule: 'cel', file: 'widget.yaml', object: 'Widget default/w', field: 'spec',
      message: 'min must not exceed max (Invalid value: the API server refuses the object by a rule of CRD widgets.example.com: self.min <= self.max)',
      fix: 'change spec so that the rule holds',
    }]);
  });

  test('an unevaluable rule is a warning naming the CRD, the rule and why; transition rules are counted', () => {
    const r = validate([file('crd.yaml', crd), file('widget.yaml', widget({ min: 1, max: 2 }))]);
    expect(r.violations).toEqual([]);
    expect(r.warnings).toEqual([expect.objectContaining({ rule: 'cel', file: 'widget.yaml', object: 'Widget default/w', field: 'spec' })]);
    expect(r.warnings[0].message).toContain('a rule of CRD widgets.example.com was not evaluated');
    expect(r.warnings[0].message).toContain('quantity()');
    // (The CRD itself may be one the run's schema cache holds: reused counts it then.)
    expect(r.cel).toEqual({ evaluated: 1, transitionRules: 1, notEvaluated: 1, reused: expect.any(Number) });
  });

  test('bundled CRDs are checked too: an Istio ServiceEntry (schemas/crds.json) with NONE resolution and endpoints', () => {
    const se = { apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: 'db', namespace: 'apps' },
      spec: { hosts: ['db.example.com'], ports: [{ number: 5432, name: 'pg', protocol: 'TCP' }], endpoints: [{ address: '10.0.0.5' }] } };
    const r = validate([file('se.yaml', se)]);
    expect(r.violations.map((v) => `${v.rule} ${v.field}: ${v.message.split(' (')[0]}`)).toEqual(['cel spec: NONE mode cannot set endpoints']);
  });

  test('the schema cache keeps only objects with neither a CEL violation nor a CEL warning', () => {
    const added: string[] = [];
    const cache: SchemaCache = { has: () => false, add: (k) => { added.push(k); } };
    validate([file('crd.yaml', crd), file('a.yaml', widget({ min: 1, max: 2 }))], { schemaCache: cache });
    // The CRD itself is cached; the widget, with its warning, is not.
    expect(added).toHaveLength(1);
  });
});

describe('coverage of the rules we ship against', () => {
  /** Every rule text of a bundle. */
  function rulesOf(bundle: unknown): string[] {
    const out: string[] = [];
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) { n.forEach(walk); return; }
      if (n === null || typeof n !== 'object') return;
      for (const r of ((n as M)['x-kubernetes-validations'] ?? []) as { rule: string }[]) out.push(r.rule);
      Object.values(n).forEach(walk);
    };
    walk(bundle);
    return [...new Set(out)];
  }

  test('every rule of schemas/crds.json and of the Gateway API and Istio 1.30 fixture parses and calls only implemented functions', () => {
    const bundled = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'schemas', 'crds.json'), 'utf8'));
    const rules = [...rulesOf(bundled), ...rulesOf(fixture)];
    expect(rules.length).toBeGreaterThan(100);
    expect(rules.filter((r) => compileRule(r).unusable).map((r) => `${r}: ${compileRule(r).unusable}`)).toEqual([]);
  });
});
