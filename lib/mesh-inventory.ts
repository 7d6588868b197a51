// The "who may call whom" part of gitops/<environment>/README.md, read from the objects themselves: the
// AuthorizationPolicies (ALLOW rules: source principals and ports), the workloads whose pods they select
// and whose ServiceAccounts those principals are, and the PeerAuthentications (STRICT namespaces, PERMISSIVE
// ports). Ours and what the charts render, so the ingress gateway appears under its rendered name.
import { compareText } from './text';

type Obj = any;

export interface MeshAccess {
  /** `namespace/name` of the called workload (or the policy, when it selects no known workload). */
  readonly callee: string;
  /** Workload `namespace/name`, a principal no workload runs as, or `any source`. */
  readonly caller: string;
  readonly ports: readonly string[];
}

const ANY = 'any source (no mTLS identity required)';
const NOBODY = 'nobody (a policy without rules allows nothing)';
const WORKLOAD_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Rollout']);

function podSpecOf(o: Obj): Obj {
  return o.spec?.template?.spec ?? {};
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  return !!selector && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Every caller -> callee pair an ALLOW AuthorizationPolicy permits, with the ports. */
export function meshAccess(objects: readonly Obj[]): MeshAccess[] {
  const workloads = objects.filter((o) => WORKLOAD_KINDS.has(o.kind));
  const byPrincipal = (p: string): string => {
    const m = /^[^/]+\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(p);
    const w = m && workloads.find((o) => (o.metadata.namespace ?? '') === m[1] && (podSpecOf(o).serviceAccountName ?? 'default') === m[2]);
    return w ? `${w.metadata.namespace}/${w.metadata.name}` : p;
  };
  const out: MeshAccess[] = [];
  for (const ap of objects.filter((o) => o.kind === 'AuthorizationPolicy' && (o.spec?.action ?? 'ALLOW') === 'ALLOW')) {
    const ns = ap.metadata.namespace ?? '';
    const target = workloads.find((o) => o.metadata.namespace === ns && matches(ap.spec?.selector?.matchLabels, o.spec?.template?.metadata?.labels));
    const callee = target ? `${ns}/${target.metadata.name}` : `${ns}/${ap.metadata.name} (AuthorizationPolicy)`;
    // ALLOW without rules allows nothing.
    if ((ap.spec?.rules ?? []).length === 0) out.push({ callee, caller: NOBODY, ports: [] });
    for (const rule of ap.spec?.rules ?? []) {
      const ports: string[] = (rule.to ?? []).flatMap((t: Obj) => t.operation?.ports ?? []);
      const principals: string[] = (rule.from ?? []).flatMap((f: Obj) => f.source?.principals ?? []);
      const callers = rule.from ? principals.map(byPrincipal) : [ANY];
      for (const caller of callers) out.push({ callee, caller, ports: ports.length > 0 ? ports : ['every port'] });
    }
  }
  return out.sort((a, b) => compareText(a.callee, b.callee) || compareText(a.caller, b.caller));
}

/** The Markdown section: mTLS modes, a table and a Mermaid diagram of who may call whom. */
export function meshAccessSection(objects: readonly Obj[]): string[] {
  const peer = objects.filter((o) => o.kind === 'PeerAuthentication');
  const strict = peer.filter((p) => !p.spec?.selector && p.spec?.mtls?.mode === 'STRICT').map((p) => `\`${p.metadata.namespace}\``).sort(compareText);
  const permissive = peer.flatMap((p) => Object.entries(p.spec?.portLevelMtls ?? {})
    .filter(([, v]) => (v as Obj)?.mode === 'PERMISSIVE')
    .map(([port]) => `\`${p.metadata.namespace}/${Object.entries(p.spec?.selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`).join(',')}\` port ${port}`));
  const access = meshAccess(objects);
  const out = ['## Who may call whom', ''];
  out.push(`Mutual TLS only (PeerAuthentication STRICT) in: ${strict.join(', ') || 'no namespace'}` +
    `${permissive.length > 0 ? `; plaintext also accepted on ${permissive.join(', ')}` : ''}. ` +
    'A workload with an AuthorizationPolicy accepts only what its rules allow; the sidecars\' own ports (15020, 15090, 15021) are not subject to it.', '');
  if (access.length === 0) {
    out.push('_no AuthorizationPolicy_', '');
    return out;
  }
  out.push('| workload | may be called by | ports |', '| --- | --- | --- |');
  for (const a of access) out.push(`| \`${a.callee}\` | ${a.caller === ANY || a.caller === NOBODY ? a.caller : `\`${a.caller}\``} | ${a.ports.map((p) => `\`${p}\``).join(', ') || '–'} |`);
  out.push('');
  const node = (s: string) => `n_${s.replace(/[^A-Za-z0-9]/g, '_')}`;
  const text = (s: string) => `"${s.replace(/"/g, '#quot;')}"`;
  out.push('```mermaid', 'flowchart LR');
  const seen = new Set<string>();
  for (const a of access.filter((x) => x.caller !== NOBODY)) {
    for (const n of [a.caller, a.callee]) {
      if (!seen.has(n)) out.push(`  ${node(n)}[${text(n)}]`);
      seen.add(n);
    }
    out.push(`  ${node(a.caller)} -->|${text(a.ports.join(', '))}| ${node(a.callee)}`);
  }
  out.push('```', '');
  return out;
}
