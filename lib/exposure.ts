// How an environment serves its platform endpoints (Harbor, Jenkins, Argo CD, Grafana, Prometheus,
// Alertmanager, Kiali) to the internet: one choice per environment (config `exposure`), taken by every
// TlsEndpoint, so that no component knows which one is in force.
//   - Exposure.ingress(class): an Ingress per endpoint, for ingress-nginx (its annotations carry TLS
//     passthrough and basic auth). The guide's setup; ingress-nginx is retired (last releases 2026-03).
//   - Exposure.gatewayApi(name, namespace): one shared Gateway API Gateway (class istio) with one HTTPS (or
//     TLS passthrough) listener per endpoint host plus one HTTP listener for cert-manager's HTTP-01
//     challenges and the redirect to HTTPS, and an HTTPRoute (or TLSRoute) per endpoint in its component's
//     namespace. The Gateway is built last (`build`), once every endpoint has registered its listener.
import { Construct } from 'constructs';
import {
  Gateway,
  GatewaySpecListeners,
  GatewaySpecListenersAllowedRoutesNamespacesFrom,
  GatewaySpecListenersTlsMode,
  HttpRoute,
  HttpRouteSpecRulesFiltersRequestRedirectScheme,
  HttpRouteSpecRulesFiltersRequestRedirectStatusCode,
  HttpRouteSpecRulesFiltersType,
} from '../imports/gateway.networking.k8s.io';

/** Who terminates TLS: the ingress controller or Gateway with the endpoint's secret, or the backend itself. */
export type TlsMode = 'terminate' | 'passthrough';

/**
 * Who checks that a request may reach an endpoint.
 * - own-login: the application asks for a login itself (Harbor, Jenkins, Argo CD, Grafana, Kiali's token).
 * - basic-auth: it has none (Prometheus, Alertmanager); the front must ask for a password from the htpasswd
 *   in the secret `htpasswdSecret()` returns (called only by a front that uses it, so that an environment
 *   without such a front declares no such secret).
 */
export type Access =
  | { readonly kind: 'own-login' }
  | { readonly kind: 'basic-auth'; readonly realm: string; readonly htpasswdSecret: () => string };

export const Access = {
  ownLogin: (): Access => ({ kind: 'own-login' }),
  basicAuth: (realm: string, htpasswdSecret: () => string): Access => ({ kind: 'basic-auth', realm, htpasswdSecret }),
};

/** Ingresses of one ingress class (ingress-nginx's annotations for passthrough and basic auth). */
export class IngressExposure {
  public readonly kind = 'ingress' as const;
  constructor(public readonly className: string) {}

  /** Every endpoint is published: ingress-nginx asks for basic auth where the application has no login. */
  public publishes(_access: Access): boolean {
    return true;
  }
}

/** One listener of the shared Gateway, as an endpoint registers it. */
export interface GatewayListenerEntry {
  /** The listener's name (its sectionName), unique in the Gateway. */
  readonly name: string;
  readonly host: string;
  readonly tls: TlsMode;
  /** The TLS secret in the Gateway's namespace (terminate only). */
  readonly secretName?: string;
  /** The only namespace whose routes may attach (the endpoint's component's). */
  readonly routeNamespace: string;
  /** Where the endpoint's Certificate lives: cert-manager's HTTP-01 solver HTTPRoute is made there. */
  readonly certificateNamespace: string;
  /** What messages call the endpoint. */
  readonly origin: string;
}

/** The Gateway API's standard HTTP and HTTPS ports: the ingress gateway's Service serves both. */
const HTTP_PORT = 80;
const HTTPS_PORT = 443;
/** The label every namespace carries with its own name (Kubernetes sets it), for allowedRoutes selectors. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

/**
 * The shared Gateway API Gateway, with the listeners endpoints register. It binds to the existing Istio
 * ingress gateway (Istio's manual deployment: `addresses` names its Service) rather than having Istio
 * deploy a gateway per Gateway: the workloads' Istio Gateways and the platform's listeners then share
 * one load balancer address for DNS, the chart-managed Deployment (resources, PodMonitor) and the mTLS
 * principal the workloads' AuthorizationPolicies admit.
 */
export class GatewayExposure {
  public readonly kind = 'gateway-api' as const;
  /** The HTTP listener: cert-manager's HTTP-01 challenges and the redirect to HTTPS. */
  public static readonly HTTP_LISTENER = 'http';
  private readonly entries: GatewayListenerEntry[] = [];
  private built?: Gateway;

  constructor(public readonly gatewayName: string, public readonly namespace: string) {}

  /**
   * Endpoints without a login of their own are not published: the Gateway API has no basic auth
   * (ingress-nginx's annotations have no equivalent), so Prometheus and Alertmanager stay internal and are
   * read through Grafana's datasources or `kubectl port-forward` (README "Exposure").
   */
  public publishes(access: Access): boolean {
    return access.kind === 'own-login';
  }

  /** The listeners registered so far. */
  public get listeners(): readonly GatewayListenerEntry[] {
    return this.entries;
  }

  /** Registers an endpoint's listener; throws on a second listener of one name or host. */
  public addListener(entry: GatewayListenerEntry): void {
    if (this.built) throw new Error(`Gateway ${this.namespace}/${this.gatewayName} is already built; ${entry.origin} must register its listener before the platform builds it`);
    if (entry.name === GatewayExposure.HTTP_LISTENER) throw new Error(`${entry.origin}: listener name "${entry.name}" is the HTTP listener's; name the route otherwise`);
    const same = this.entries.find((e) => e.name === entry.name || e.host === entry.host);
    if (same) {
      throw new Error(`${entry.origin}: its listener ${entry.name} (${entry.host}) clashes with ${same.origin}'s ${same.name} (${same.host}) on Gateway ${this.namespace}/${this.gatewayName}; give each endpoint its own route name and host`);
    }
    this.entries.push(entry);
  }

  /**
   * The Gateway, bound to the Service `address` (a cluster host name), and the HTTP route that redirects
   * every endpoint host to HTTPS, under `scope` (a component in the Gateway's namespace). Called once,
   * after every endpoint registered.
   */
  public build(scope: Construct, address: string): Gateway {
    if (this.built) throw new Error(`Gateway ${this.namespace}/${this.gatewayName} is built twice`);
    const onlyNamespaces = (namespaces: string[]) => ({
      from: GatewaySpecListenersAllowedRoutesNamespacesFrom.SELECTOR,
      selector: { matchExpressions: [{ key: NAMESPACE_NAME_LABEL, operator: 'In', values: [...new Set(namespaces)].sort() }] },
    });
    const listeners: GatewaySpecListeners[] = [
      {
        // No hostname: the solver's HTTPRoutes carry theirs. Routes may attach from the namespaces the
        // Certificates live in (the solver's route is made next to its Certificate) and from here (the redirect).
        name: GatewayExposure.HTTP_LISTENER,
        port: HTTP_PORT,
        protocol: 'HTTP',
        allowedRoutes: { namespaces: onlyNamespaces([this.namespace, ...this.entries.map((e) => e.certificateNamespace)]), kinds: [{ kind: 'HTTPRoute' }] },
      },
      ...this.entries.map((e): GatewaySpecListeners => ({
        name: e.name,
        hostname: e.host,
        port: HTTPS_PORT,
        protocol: e.tls === 'terminate' ? 'HTTPS' : 'TLS',
        tls: e.tls === 'terminate'
          ? { mode: GatewaySpecListenersTlsMode.TERMINATE, certificateRefs: [{ kind: 'Secret', name: e.secretName! }] }
          : { mode: GatewaySpecListenersTlsMode.PASSTHROUGH },
        // Only the endpoint's own component may route its host.
        allowedRoutes: { namespaces: onlyNamespaces([e.routeNamespace]), kinds: [{ kind: e.tls === 'terminate' ? 'HTTPRoute' : 'TLSRoute' }] },
      })),
    ];
    this.built = new Gateway(scope, `gateway-${this.gatewayName}`, {
      metadata: { name: this.gatewayName, namespace: this.namespace },
      spec: {
        gatewayClassName: 'istio',
        addresses: [{ type: 'Hostname', value: address }],
        listeners,
      },
    });
    if (this.entries.length > 0) {
      // cert-manager's solver routes match /.well-known/acme-challenge/<token> exactly, which takes
      // precedence over this prefix match: challenges are answered, everything else goes to HTTPS.
      new HttpRoute(scope, `gateway-${this.gatewayName}-https-redirect`, {
        metadata: { name: `${this.gatewayName}-https-redirect`, namespace: this.namespace },
        spec: {
          parentRefs: [{ name: this.gatewayName, sectionName: GatewayExposure.HTTP_LISTENER }],
          hostnames: this.entries.map((e) => e.host),
          rules: [{
            filters: [{
              type: HttpRouteSpecRulesFiltersType.REQUEST_REDIRECT,
              requestRedirect: { scheme: HttpRouteSpecRulesFiltersRequestRedirectScheme.HTTPS, statusCode: HttpRouteSpecRulesFiltersRequestRedirectStatusCode.VALUE_301 },
            }],
          }],
        },
      });
    }
    return this.built;
  }
}

/** The environment's choice; see the file comment. */
export type Exposure = IngressExposure | GatewayExposure;

export const Exposure = {
  ingress: (className: string): IngressExposure => new IngressExposure(className),
  gatewayApi: (gatewayName: string, namespace: string): GatewayExposure => new GatewayExposure(gatewayName, namespace),
};
