import { render } from './helpers';

test('ingress-nginx gets the Azure health-probe path and serves class nginx', () => {
  const lab = render();
  const app = lab.app('ingress-nginx');
  expect(lab.chart(app.metadata.name)).toMatchObject({ repoURL: 'https://kubernetes.github.io/ingress-nginx', chart: 'ingress-nginx', targetRevision: '4.15.1' });
  const controller = lab.values(app.metadata.name).controller;
  expect(controller.service.annotations['service.beta.kubernetes.io/azure-load-balancer-health-probe-request-path']).toBe('/healthz');
  expect(controller.ingressClassResource.name).toBe('nginx');
});
