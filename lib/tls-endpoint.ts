// A TLS endpoint is one host served over HTTPS: the cert-manager Certificate that fills the TLS secret
// and the route that serves it, built from one set of facts so they cannot disagree on host, secret,
// issuer or front. The route follows the environment's exposure (lib/exposure.ts): an Ingress, or a
// listener of the shared Gateway API Gateway and an HTTPRoute (TLSRoute where the backend terminates TLS
// itself). With an Ingress exposure the Ingress may instead come from a Helm chart (`ingressBy: 'chart'`):
// then the chart's values are built from this endpoint's `host` and `secretName`.
import * as k8s from '../imports/k8s';
import { Construct } from 'constructs';
import { Component, componentOf } from './component';
import { Http01Solver, http01Problem } from './config';
import { Access, Exposure, GatewayExposure, TlsMode } from './exposure';
import {
  Certificate,
  CertificateSpecPrivateKeyRotationPolicy,
  CertificateSpecUsages,
} from '../imports/cert-manager.io';
import { HttpRoute, HttpRouteSpecRulesMatchesPathType, TlsRoute } from '../imports/gateway.networking.k8s.io';

/** The longest X.509 commonName (RFC 5280 ub-common-name); a longer host goes only into dnsNames. */
export const MAX_COMMON_NAME_BYTES = 64;

/** A ClusterIssuer declared by the cert-manager component. Obtain one from `CertManagerChart.issuer()`. */
export interface ClusterIssuerRef {
  readonly name: string;
  /** The component that declares the issuer; an endpoint's component is synced after it. */
  readonly declaredBy: Component;
  /**
   * How the issuer's HTTP-01 challenges reach its solver: an ingress class, or the Gateway.
   * @default - the issuer answers no challenge (a CA of the cluster's own): anything may serve its hosts
   */
  readonly http01?: Http01Solver;
}

/** The Service a route sends traffic to. */
export interface IngressBackend {
  readonly service: string;
  /** A port number, or the name of a port of the Service. */
  readonly port: number | string;
  /**
   * The port's number, where `port` is a name: Gateway API backendRefs take numbers only.
   * @default - `port`, which must then be a number for a Gateway exposure
   */
  readonly portNumber?: number;
}

/** How the endpoint's host is routed to its Service. */
export interface EndpointRoute {
  /** The environment's exposure (config `exposure`); every endpoint of an environment takes the same. */
  readonly exposure: Exposure;
  /** The name of the Ingress, or of the HTTPRoute/TLSRoute and (prefixed https-) its Gateway listener. */
  readonly name: string;
  readonly backend: IngressBackend;
  /**
   * Who terminates TLS. `passthrough`: the backend serves the endpoint's secret itself (Argo CD).
   * @default 'terminate'
   */
  readonly tls?: TlsMode;
  /**
   * Who authenticates requests; an exposure that cannot ask for basic auth does not publish a
   * `basic-auth` endpoint at all.
   * @default Access.ownLogin()
   */
  readonly access?: Access;
  /**
   * Extra annotations of the Ingress (an Ingress exposure only). cert-manager's ingress-shim annotations
   * are refused: this endpoint's Certificate already fills the secret.
   * @default - none
   */
  readonly ingressAnnotations?: Record<string, string>;
  /**
   * Who makes the Ingress of an Ingress exposure: this endpoint, or a Helm chart from `host` and `secretName`.
   * @default 'endpoint'
   */
  readonly ingressBy?: 'endpoint' | 'chart';
}

export interface TlsEndpointProps {
  /** The fully qualified host name, e.g. harbor.example.com. */
  readonly host: string;
  /** The namespace of the endpoint's Service (and of its Certificate, unless a Gateway terminates TLS). */
  readonly namespace: string;
  /** The TLS secret the Certificate fills and the route serves. Also the Certificate's name. */
  readonly secretName: string;
  readonly issuer: ClusterIssuerRef;
  /**
   * The route to the host.
   * @default - none: only the Certificate, whose secret the caller serves (the workloads' Istio Gateways)
   */
  readonly route?: EndpointRoute;
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

/** ingress-nginx's annotations for TLS passthrough to a backend that serves HTTPS itself. */
const NGINX_PASSTHROUGH = {
  'nginx.ingress.kubernetes.io/ssl-passthrough': 'true',
  'nginx.ingress.kubernetes.io/backend-protocol': 'HTTPS',
};

export class TlsEndpoint extends Construct {
  public readonly host: string;
  public readonly namespace: string;
  public readonly secretName: string;
  public readonly issuer: ClusterIssuerRef;
  /** Whether the host is served publicly; an exposure that cannot authenticate for the backend leaves it internal. */
  public readonly published: boolean;
  /** Where the Certificate and its secret live: the Gateway's namespace where it terminates TLS, else `namespace`. */
  public readonly certificateNamespace: string;
  /** The Certificate; none for an endpoint that is not published. */
  public readonly certificate?: Certificate;
  public readonly ingress?: k8s.KubeIngress;
  public readonly httpRoute?: HttpRoute;
  public readonly tlsRoute?: TlsRoute;
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

    const route = props.route;
    const exposure = route?.exposure;
    const tls = route?.tls ?? 'terminate';
    const access = route?.access ?? Access.ownLogin();
    this.published = exposure?.publishes(access) ?? true;
    this.certificateNamespace = exposure?.kind === 'gateway-api' && tls === 'terminate' ? exposure.namespace : props.namespace;
    if (!this.published) return;

    if (exposure) {
      const served: Http01Solver = exposure.kind === 'ingress' ? { ingressClass: exposure.className } : { gateway: exposure.gatewayName };
      const problem = http01Problem(props.issuer, served, exposure.kind === 'ingress' ? 'its Ingress uses class' : 'it is served by Gateway');
      if (problem) throw new Error(`TlsEndpoint ${props.host}: ${problem}`);
    }
    const shim = Object.keys(route?.ingressAnnotations ?? {}).filter((a) => a.startsWith('cert-manager.io/') || a.startsWith('certmanager.k8s.io/'));
    if (shim.length > 0) {
      throw new Error(`TlsEndpoint ${props.host}: annotation ${shim.join(', ')} would make cert-manager issue ${props.secretName} a second time; remove it`);
    }

    const owner = componentOf(this);
    if (owner && owner !== props.issuer.declaredBy) owner.dependOn(props.issuer.declaredBy);

    this.certificate = new Certificate(this, 'certificate', {
      metadata: { name: props.secretName, namespace: this.certificateNamespace },
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

    if (route && exposure?.kind === 'ingress' && (route.ingressBy ?? 'endpoint') === 'endpoint') {
      const port = typeof route.backend.port === 'number' ? { number: route.backend.port } : { name: route.backend.port };
      const annotations: Record<string, string> = {
        ...(tls === 'passthrough' ? NGINX_PASSTHROUGH : {}),
        ...(access.kind === 'basic-auth' ? {
          'nginx.ingress.kubernetes.io/auth-type': 'basic',
          'nginx.ingress.kubernetes.io/auth-secret': access.htpasswdSecret(),
          'nginx.ingress.kubernetes.io/auth-realm': access.realm,
        } : {}),
        ...route.ingressAnnotations,
      };
      this.ingress = new k8s.KubeIngress(this, 'ingress', {
        metadata: {
          name: route.name,
          namespace: props.namespace,
          ...(Object.keys(annotations).length > 0 ? { annotations } : {}),
        },
        spec: {
          ingressClassName: exposure.className,
          tls: [{ hosts: [props.host], secretName: props.secretName }],
          rules: [{
            host: props.host,
            http: {
              paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: route.backend.service, port } } }],
            },
          }],
        },
      });
    } else if (route && exposure?.kind === 'gateway-api') {
      const made = this.serveThroughGateway(exposure, route, tls);
      this.httpRoute = made.httpRoute;
      this.tlsRoute = made.tlsRoute;
    }
  }

  /** The endpoint's listener on the shared Gateway, and its route in the endpoint's namespace. */
  private serveThroughGateway(gateway: GatewayExposure, route: EndpointRoute, tls: TlsMode): { httpRoute?: HttpRoute; tlsRoute?: TlsRoute } {
    const port = typeof route.backend.port === 'number' ? route.backend.port : route.backend.portNumber;
    if (port === undefined) {
      throw new Error(`TlsEndpoint ${this.host}: backend port "${route.backend.port}" is a name, and Gateway API backendRefs take a port number; pass backend.portNumber`);
    }
    const listener = `https-${route.name}`;
    gateway.addListener({
      name: listener,
      host: this.host,
      tls,
      secretName: tls === 'terminate' ? this.secretName : undefined,
      routeNamespace: this.namespace,
      certificateNamespace: this.certificateNamespace,
      origin: this.origin,
    });
    const parentRefs = [{ name: gateway.gatewayName, namespace: gateway.namespace, sectionName: listener }];
    const backendRefs = [{ name: route.backend.service, port }];
    const metadata = { name: route.name, namespace: this.namespace };
    if (tls === 'terminate') {
      return { httpRoute: new HttpRoute(this, 'http-route', {
        metadata,
        spec: {
          parentRefs,
          hostnames: [this.host],
          rules: [{ matches: [{ path: { type: HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: '/' } }], backendRefs }],
        },
      }) };
    }
    return { tlsRoute: new TlsRoute(this, 'tls-route', { metadata, spec: { parentRefs, hostnames: [this.host], rules: [{ backendRefs }] } }) };
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
  // An endpoint that is not published has no route and no Certificate: its host and secret are free.
  const endpoints = scope.node.findAll().filter((c): c is TlsEndpoint => c instanceof TlsEndpoint && c.published);
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
    const secretKey = `${e.certificateNamespace}/${e.secretName}`;
    const sameSecret = bySecret.get(secretKey);
    if (sameSecret) {
      problems.push(`${e.secretOrigin}: its TLS secret "${e.secretName}" in ${e.certificateNamespace} is also ${sameSecret.secretOrigin}'s; each Certificate would overwrite the other's; ` +
        `${e.secretOrigin.startsWith('apps.workloads.') ? 'rename the workload' : 'rename one of them'}`);
    } else {
      bySecret.set(secretKey, e);
    }
  }
  return problems;
}
