// ingress-nginx: the controller behind every Ingress of the platform, on the provider's load balancer.
import { Construct } from 'constructs';
import { Section } from '../lib/config';
import { HelmComponent } from '../lib/component';
import { Provider } from '../lib/provider';
import { IngressNginxValues } from '../lib/helm-values';

export interface IngressNginxProps {
  readonly config: Section<'ingressNginx'>;
  /** The IngressClass the controller serves. */
  readonly ingressClass: string;
  /** Who runs the cluster: its load balancer's settings. */
  readonly provider: Provider;
}

export class IngressNginxChart extends HelmComponent<IngressNginxValues> {
  constructor(scope: Construct, props: IngressNginxProps) {
    const { config } = props;
    super(scope, 'ingress-nginx', {
      // The guide installs the controller into `default`; it gets a namespace of its own here.
      namespace: config.namespace,
      runtimeObjects: [{
        kind: 'Secret', namespace: config.namespace, name: 'ingress-nginx-admission', keys: ['ca', 'cert', 'key'],
        createdBy: 'Job ingress-nginx-admission-create (kube-webhook-certgen), for the admission webhook',
      }],
      source: { chartKey: 'ingress-nginx', chartVersion: config.chartVersion },
      values: {
        controller: {
          // The controller answers / with 404 and /healthz with 200.
          service: { annotations: { ...props.provider.loadBalancerAnnotations('/healthz') } },
          ingressClassResource: { name: props.ingressClass },
          // Argo CD's Ingress passes TLS through to argocd-server (charts/argo-cd.ts); the controller
          // ignores the ssl-passthrough annotation unless started with this flag.
          extraArgs: { 'enable-ssl-passthrough': 'true' },
        },
      },
    });
  }
}
