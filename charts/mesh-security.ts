// Who may talk to the workloads, and where they may talk to. Per workload an AuthorizationPolicy that
// allows only the callers config declares (`callers`, by their ServiceAccount's mTLS principal) and, for a
// workload with a public host, the ingress gateway (its principal read from what the gateway chart
// renders); anyone else is denied. One Sidecar scopes the namespace's egress to the namespace itself and
// what the whole mesh needs (istiod's meshEgressHosts), with unknown destinations refused.
//
// What deny-by-default leaves working, and why:
// - Prometheus scraping the sidecars (15020 merged metrics, 15090 Envoy's): the agent and Envoy serve those
//   ports themselves, outside the inbound chain that mTLS and authorization apply to
//   (https://istio.io/latest/docs/tasks/observability/metrics/secure-metrics/: "not protected by mutual TLS").
// - An app's metricsPort, scraped by the stack's Prometheus, which has no sidecar and so no certificate:
//   the port is PERMISSIVE (a PeerAuthentication of the workload, at port level) and a rule allows any
//   source on it, and on it only.
// - Probes: the injector rewrites them to the agent's 15021 (charts/workload-pod.ts).
// - HTTP-01 challenges for the gateway hosts: cert-manager's solver pods run where the Certificates are,
//   the gateway's namespace, which is not injected (no sidecar, no PeerAuthentication or policy there);
//   none of these policies select them (each selects one workload's labels).
import { ApiObject, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import {
  AuthorizationPolicy,
  AuthorizationPolicySpecAction,
  AuthorizationPolicySpecRules,
  PeerAuthentication,
  PeerAuthenticationSpecPortLevelMtlsMode,
} from '../imports/security.istio.io';
import { IstioGatewayChart, IstiodChart, principal } from './istio';

/** What mesh security needs to know of one workload. */
export interface MeshWorkload {
  readonly name: string;
  /** The labels its pods carry and every policy of it selects by. */
  readonly selector: Readonly<Record<string, string>>;
  /** Its pods' ServiceAccount name (their mTLS identity). */
  readonly serviceAccountName: string;
  /** The container port callers reach. */
  readonly port: number;
  readonly metricsPort?: number;
  /** Whether the ingress gateway routes a public host to it. */
  readonly public: boolean;
  /** The workloads that may call it (config's `callers`, checked to exist). */
  readonly callers: readonly string[];
}

export interface MeshSecurityProps {
  readonly namespace: string;
  readonly workloads: readonly MeshWorkload[];
  readonly gateway: IstioGatewayChart;
  readonly istiod: IstiodChart;
}

/**
 * The Sidecar kind is not among the typed bindings (the pinned CRD file of Istio 1.24 in ../shared lacks
 * it); the validator checks it against the CRD the istio-base chart renders.
 */
interface SidecarSpec {
  readonly egress: readonly { readonly hosts: readonly string[] }[];
  readonly outboundTrafficPolicy: { readonly mode: 'REGISTRY_ONLY' | 'ALLOW_ANY' };
}

/** The AuthorizationPolicies, metrics-port PeerAuthentications and the egress Sidecar of one namespace of workloads. */
export class MeshSecurity extends Construct {
  /** Per workload, its AuthorizationPolicy. */
  public readonly policies: ReadonlyMap<string, AuthorizationPolicy>;
  /** The namespace's egress scope. */
  public readonly egressHosts: readonly string[];

  constructor(scope: Construct, id: string, props: MeshSecurityProps) {
    super(scope, id);
    const { namespace: ns, gateway, istiod } = props;
    const byName = new Map(props.workloads.map((w) => [w.name, w]));
    const policies = new Map<string, AuthorizationPolicy>();

    for (const w of props.workloads) {
      const sources: string[] = [];
      for (const caller of w.callers) {
        const c = byName.get(caller);
        if (!c) throw new Error(`workload ${w.name}: caller "${caller}" is not a workload of ${ns} (config checks apps.workloads.${w.name}.callers; this is a bug)`);
        sources.push(principal(ns, c.serviceAccountName));
      }
      // Resolved at synth, once the gateway chart is rendered.
      if (w.public) sources.push(Lazy.any({ produce: () => gateway.principal }));
      const rules: AuthorizationPolicySpecRules[] = [];
      if (sources.length > 0) {
        rules.push({ from: [{ source: { principals: sources } }], to: [{ operation: { ports: [String(w.port)] } }] });
      }
      if (w.metricsPort !== undefined) {
        // Prometheus has no mesh identity to name; the port serves metrics only.
        rules.push({ to: [{ operation: { ports: [String(w.metricsPort)] } }] });
        new PeerAuthentication(this, `${w.name}-metrics-mtls`, {
          metadata: { name: `${w.name}-metrics`, namespace: ns },
          spec: {
            selector: { matchLabels: { ...w.selector } },
            portLevelMtls: { [String(w.metricsPort)]: { mode: PeerAuthenticationSpecPortLevelMtlsMode.PERMISSIVE } },
          },
        });
      }
      // ALLOW with no rules allows nothing: a workload nobody is declared to call is closed.
      policies.set(w.name, new AuthorizationPolicy(this, `${w.name}-authz`, {
        metadata: { name: w.name, namespace: ns },
        spec: {
          selector: { matchLabels: { ...w.selector } },
          action: AuthorizationPolicySpecAction.ALLOW,
          ...(rules.length > 0 ? { rules } : {}),
        },
      }));
    }
    this.policies = policies;

    // Sidecars of the namespace see (and may call) only its own services and what the mesh needs; any
    // other destination, in the cluster or outside, is refused unless a ServiceEntry in the root namespace
    // declares it (kiali.externalServices does for the lab's MySQL).
    this.egressHosts = ['./*', ...istiod.meshEgressHosts];
    const spec: SidecarSpec = {
      egress: [{ hosts: [...this.egressHosts] }],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    };
    new ApiObject(this, 'sidecar', {
      apiVersion: 'networking.istio.io/v1',
      kind: 'Sidecar',
      // One Sidecar without a workloadSelector per namespace: its name is Istio's convention.
      metadata: { name: 'default', namespace: ns },
      spec,
    });
  }
}
