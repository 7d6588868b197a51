// The maintained environment (config/prod.yaml): the lab's platform on what is supported in late 2026,
// rendered and validated end to end against Kubernetes 1.34, with nothing retired or past its end of life.
import * as path from 'path';
import { loadConfig } from '../lib/config';
import { chartFiles } from '../lib/platform';
import { render, Rendered, unionViolations } from './helpers';

const prod = render(loadConfig(path.join(__dirname, '..', 'config', 'prod.yaml')));
const local = render(loadConfig(path.join(__dirname, '..', 'config', 'local.yaml')));
const lab = render();
const everything = (r: Rendered) => [...r.files, ...chartFiles(r.platform!)].map((f) => f.manifest as any);

test('renders and validates with no violation, against Kubernetes 1.34', () => {
  expect(prod.platform!.config.cluster.kubernetesVersion).toBe('1.34');
  expect(unionViolations(undefined, prod.platform)).toEqual([]);
});

test('runs nothing retired or past its end of life: no ingress-nginx, no Promtail, no Istio 1.24, no Kaniko', () => {
  const components = prod.platform!.components.map((c) => c.name);
  expect(components).not.toContain('ingress-nginx');
  expect(components).not.toContain('promtail');
  expect(components).toEqual(expect.arrayContaining(['alloy', 'gateway-api', 'istio-base', 'istiod', 'istio-ingressgateway', 'kiali']));
  for (const chart of ['istio-base', 'istiod', 'istio-ingressgateway']) expect(prod.chart(chart).targetRevision).toBe('1.30.3');
  const objects = everything(prod);
  expect(objects.filter((m) => m.kind === 'Ingress' || m.kind === 'IngressClass')).toEqual([]);
  const images = JSON.stringify(objects).match(/"image":"[^"]+"/g) ?? [];
  expect(images.filter((i) => /ingress-nginx|promtail|kaniko|:1\.24\./.test(i))).toEqual([]);
});

test('every platform endpoint is a Gateway listener with a route; Prometheus and Alertmanager are not published', () => {
  const gateway = prod.get('Gateway', 'platform', 'istio-system');
  const hosts = gateway.spec.listeners.map((l: any) => l.hostname).filter(Boolean).sort();
  expect(hosts).toEqual(['argocd', 'dashboard', 'grafana', 'harbor', 'jenkins'].map((h) => `${h}.prod.k-tech.cloud`));
  const routes = [...prod.all('HTTPRoute'), ...prod.all('TLSRoute')].flatMap((r: any) => r.spec.hostnames ?? []);
  for (const h of hosts) expect(routes).toContain(h);
});

test('three environments share one Argo CD without a clash', () => {
  const names = (r: Rendered) => [...r.in('apps'), ...r.in('bootstrap')].map((f) => f.manifest as any)
    .filter((m) => m.apiVersion.startsWith('argoproj.io/')).map((m) => `${m.kind}/${m.metadata.namespace}/${m.metadata.name}`);
  const all = [lab, prod, local].flatMap(names);
  expect(all.length).toBeGreaterThan(50);
  expect(new Set(all).size).toBe(all.length);
});
