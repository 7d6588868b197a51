import { render } from './helpers';

test('ingress-nginx gets the Azure health-probe path and serves class nginx', () => {
  const app = render().app('ingress-nginx');
  expect(app.spec.source).toMatchObject({ repoURL: 'https://kubernetes.github.io/ingress-nginx', chart: 'ingress-nginx', targetRevision: '4.15.1' });
  const controller = app.spec.source.helm.valuesObject.controller;
  expect(controller.service.annotations['service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path']).toBe('/healthz');
  expect(controller.ingressClassResource.name).toBe('nginx');
});
