// A TLS endpoint is one host served over HTTPS: the cert-manager Certificate that fills the TLS secret
// and the Ingress that serves it, built from one set of facts so they cannot disagree on host, secret,
// issuer or class. The Ingress may instead come from a Helm chart: then the chart's values are built
// from this endpoint's `host` and `secretName`.
import * as k8s from '../imports/k8s';
import { Construct } from 'constructs';
import { Component, componentOf } from './component';
import { http01ClassProblem } from './config';
import {
  Certificate,
  CertificateSpecPrivateKeyRotationPolicy,
  CertificateSpecUsages,
} from '../imports/cert-manager.io';

/** The longest X.509 commonName (RFC 5280 ub-common-name); a longer host goes only into dnsNames. */
export const MAX_COMMON_NAME_BYTES = 64;

/** A ClusterIssuer declared by the cert-manager component. Obtain one from `CertManagerChart.issuer()`. */
export interface ClusterIssuerRef {
  readonly name: string;
  /** The component that declares the issuer; an endpoint's component is synced after it. */
  readonly declaredBy: Component;
  /**
   * The ingress class whose controller answers this issuer's HTTP-01 challenges.
   * @default - the issuer answers no challenge (a CA of the cluster's own): any class may serve its hosts
   */
  readonly http01IngressClass?: string;
}

/** The Service an Ingress sends traffic to. */
export interface IngressBackend {
  readonly service: string;
  /** A port number, or the name of a port of the Service. */
  readonly port: number | string;
}

export interface TlsIngressOptions {
  /** The Ingress's name. */
  readonly name: string;
  /** The ingress class; must be the class that solves the issuer's HTTP-01 challenges. */
  readonly className: string;
  readonly backend: IngressBackend;
  /**
   * Extra annotations (e.g. nginx backend-protocol). cert-manager's ingress-shim annotations are refused:
   * this endpoint's Certificate already fills the secret.
   * @default - none
   */
  readonly annotations?: Record<string, string>;
}

export interface TlsEndpointProps {
  /** The fully qualified host name, e.g. harbor.example.com. */
  readonly host: string;
  readonly namespace: string;
  /** The TLS secret the Certificate fills and the Ingress serves. Also the Certificate's name. */
  readonly secretName: string;
  readonly issuer: ClusterIssuerRef;
  /**
   * The Ingress to create.
   * @default - no Ingress: a Helm chart creates it from this endpoint's `host` and `secretName`
   */
  readonly ingress?: TlsIngressOptions;
  /**
   * The config field the host is made from, for messages (e.g. apps.workloads.nginx.subdomain).
   * @default - messages name the component
   */
  readonly configField?: string;
  /**
   * The config field the TLS secret's name is made from, for messages (e.g. apps.workloads.nginx).
   * @default - messages name the component
   */
  readonly secretConfigField?: string;
}

export class TlsEndpoint extends Construct {
  public readonly host: string;
  public readonly namespace: string;
  public readonly secretName: string;
  public readonly issuer: ClusterIssuerRef;
  public readonly certificate: Certificate;
  public readonly ingress?: k8s.KubeIngress;
  /** What messages call this endpoint: its host's config field, or its component. */
  public readonly origin: string;
  /** What messages call this endpoint's TLS secret: its config field, or its component. */
  public readonly secretOrigin: string;
  /** Whether config names the host (a workload's subdomain) rather than the domain alone (the platform's hosts). */
  public readonly hostFromConfigField: boolean;

  constructor(scope: Construct, id: string, props: TlsEndpointProps) {
    super(scope, id);
    this.host = props.host;
    this.namespace = props.namespace;
    this.secretName = props.secretName;
    this.issuer = props.issuer;
    this.origin = props.configField ?? componentOf(this)?.name ?? scope.node.path;
    this.secretOrigin = props.secretConfigField ?? componentOf(this)?.name ?? scope.node.path;
    this.hostFromConfigField = props.configField !== undefined;

    const ing = props.ingress;
    const classProblem = ing && http01ClassProblem(props.issuer, ing.className, 'its Ingress uses class');
    if (classProblem) throw new Error(`TlsEndpoint ${props.host}: ${classProblem}`);
    const shim = Object.keys(ing?.annotations ?? {}).filter((a) => a.startsWith('cert-manager.io/') || a.startsWith('certmanager.k8s.io/'));
    if (shim.length > 0) {
      throw new Error(`TlsEndpoint ${props.host}: annotation ${shim.join(', ')} would make cert-manager issue ${props.secretName} a second time; remove it`);
    }

    const owner = componentOf(this);
    if (owner && owner !== props.issuer.declaredBy) owner.dependOn(props.issuer.declaredBy);

    this.certificate = new Certificate(this, 'certificate', {
      metadata: { name: props.secretName, namespace: props.namespace },
      spec: {
        secretName: props.secretName,
        privateKey: { rotationPolicy: CertificateSpecPrivateKeyRotationPolicy.ALWAYS },
        // A commonName holds at most 64 bytes (cert-manager refuses a longer one); Let's Encrypt issues
        // without one since 2023, reading the host from dnsNames, which is all browsers read anyway.
        ...(Buffer.byteLength(props.host, 'utf8') <= MAX_COMMON_NAME_BYTES ? { commonName: props.host } : {}),
        dnsNames: [props.host],
        usages: [
          CertificateSpecUsages.DIGITAL_SIGNATURE,
          CertificateSpecUsages.KEY_ENCIPHERMENT,
          CertificateSpecUsages.SERVER_AUTH,
        ],
        issuerRef: { name: props.issuer.name, kind: 'ClusterIssuer' },
      },
    });

    if (ing) {
      const port = typeof ing.backend.port === 'number' ? { number: ing.backend.port } : { name: ing.backend.port };
      this.ingress = new k8s.KubeIngress(this, 'ingress', {
        metadata: {
          name: ing.name,
          namespace: props.namespace,
          ...(ing.annotations && Object.keys(ing.annotations).length > 0 ? { annotations: ing.annotations } : {}),
        },
        spec: {
          ingressClassName: ing.className,
          tls: [{ hosts: [props.host], secretName: props.secretName }],
          rules: [{
            host: props.host,
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: ing.backend.service, port } } }],
            },
          }],
        },
      });
    }
  }
}

/** The longest host name DNS allows. */
export const MAX_HOST = 253;

/**
 * What is wrong with the endpoints under `scope` (the App) taken together, as `field: problem` lines: a host
 * too long for DNS, two endpoints on one host (two routes would split its traffic and its certificate), two
 * endpoints filling one TLS secret (each Certificate would overwrite the other's). Read off the tree, so an
 * endpoint a new component adds is checked with the others. `domain`: the environment's, which the
 * platform's own hosts are made from (a host too long because of it is reported once, on `domain`).
 */
export function endpointProblems(scope: Construct, domain: string): string[] {
  const endpoints = scope.node.findAll().filter((c): c is TlsEndpoint => c instanceof TlsEndpoint);
  const problems: string[] = [];
  const subdomain = (host: string) => (host.endsWith(`.${domain}`) ? host.slice(0, -domain.length - 1) : host);
  const platformHosts = endpoints.filter((e) => !e.hostFromConfigField).map((e) => subdomain(e.host)).sort();
  const tooLong = endpoints.filter((e) => e.host.length > MAX_HOST);
  const longestPlatform = tooLong.filter((e) => !e.hostFromConfigField).sort((a, b) => b.host.length - a.host.length)[0];
  if (longestPlatform) {
    const sub = subdomain(longestPlatform.host);
    problems.push(`domain: makes the host ${sub}.<domain> (${longestPlatform.origin}) ${longestPlatform.host.length} characters, over the ${MAX_HOST} of a host name; use a domain of at most ${MAX_HOST - sub.length - 1} characters`);
  }
  const byHost = new Map<string, TlsEndpoint>();
  const bySecret = new Map<string, TlsEndpoint>();
  for (const e of endpoints) {
    if (e.host.length > MAX_HOST) {
      if (e.hostFromConfigField) {
        problems.push(`${e.origin}: makes the host ${subdomain(e.host)}.<domain> ${e.host.length} characters, over the ${MAX_HOST} of a host name; use a shorter subdomain`);
      }
      continue;
    }
    const sameHost = byHost.get(e.host);
    if (sameHost) {
      problems.push(`${e.origin}: makes the host ${e.host}, which ${sameHost.origin} serves too; two routes for one host would split its traffic and its certificate; ` +
        `choose another host for one of them (the platform's own: ${platformHosts.join(', ')})`);
    } else {
      byHost.set(e.host, e);
    }
    const secretKey = `${e.namespace}/${e.secretName}`;
    const sameSecret = bySecret.get(secretKey);
    if (sameSecret) {
      problems.push(`${e.secretOrigin}: its TLS secret "${e.secretName}" in ${e.namespace} is also ${sameSecret.secretOrigin}'s; each Certificate would overwrite the other's; ` +
        `${e.secretOrigin.startsWith('apps.workloads.') ? 'rename the workload' : 'rename one of them'}`);
    } else {
      bySecret.set(secretKey, e);
    }
  }
  return problems;
}
