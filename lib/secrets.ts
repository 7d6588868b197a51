// The secrets of the platform: each is declared by the component that uses it (its name, type, keys, and
// where each key comes from) and passed to `SecretsChart.use()`, which writes it, once per namespace, into
// the namespaces of its consumers, and only there. A component that is off in an environment uses none,
// so none of its secrets is written. Values never pass through this repo: the External Secrets backend
// fetches them from the secret store (the `remoteKey` of each key), the Sealed Secrets backend decrypts
// kubeseal ciphertext.
import { Construct } from 'constructs';
import { componentOf } from './component';
import { compareText } from './text';

export type SecretType = 'Opaque' | 'kubernetes.io/dockerconfigjson' | 'kubernetes.io/tls';

/** One secret: what it holds and where each value comes from, without any value. */
export interface SecretDeclaration {
  readonly name: string;
  readonly type: SecretType;
  /** Key in the Kubernetes Secret -> name of the store's secret (Key Vault secret, or source Secret) that holds its value. */
  readonly keys: Readonly<Record<string, string>>;
  /** What the secret is for, for operators and the inventory. */
  readonly purpose: string;
  /**
   * Labels of the Secret itself (e.g. Argo CD resolves `$secret:key` references only in Secrets labelled
   * app.kubernetes.io/part-of: argocd).
   * @default - none
   */
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * The registry credential (Harbor's robot account as a dockerconfigjson), used by more than one component:
 * Jenkins' image builds push with it, the workloads' pods pull with it.
 */
export const REGISTRY_CREDENTIALS: SecretDeclaration = {
  name: 'docker-config-secret',
  type: 'kubernetes.io/dockerconfigjson',
  keys: { '.dockerconfigjson': 'harbor-dockerconfigjson' },
  purpose: 'pull from and push to Harbor (image builds in Jenkins agents, workload image pulls)',
};

/**
 * A component's use of a declared secret in one namespace: a child of the consumer, so that which secrets
 * exist, where, and who uses them is read off the construct tree (the secrets' objects, the inventory).
 */
export class SecretConsumer extends Construct {
  constructor(scope: Construct, id: string, readonly declaration: SecretDeclaration, readonly namespace: string) {
    super(scope, id);
  }

  get secret(): string {
    return this.declaration.name;
  }

  /** Marks that `consumer` uses `declaration` in `namespace` (once per pair). */
  static record(consumer: Construct, declaration: SecretDeclaration, namespace: string): void {
    const id = `uses-secret-${declaration.name}-${namespace}`;
    if (!consumer.node.tryFindChild(id)) new SecretConsumer(consumer, id, declaration, namespace);
  }
}

/** Who uses which secret where, from the tree under `scope`, sorted. */
export function secretConsumers(scope: Construct): { secret: string; namespace: string; consumer: string }[] {
  return consumersUnder(scope)
    .map((c) => ({ secret: c.secret, namespace: c.namespace, consumer: componentOf(c)?.name ?? c.node.scope!.node.id }))
    .sort((a, b) => compareText(`${a.secret}/${a.namespace}/${a.consumer}`, `${b.secret}/${b.namespace}/${b.consumer}`));
}

/** A secret in use under `scope`, with every namespace a consumer uses it in. */
export interface UsedSecretDeclaration extends SecretDeclaration {
  readonly namespaces: readonly string[];
}

/**
 * The secrets used under `scope`, by name, each with the sorted namespaces it is used in. Two components
 * that declare one name differently (other keys, type or labels) are refused: one Secret cannot be both.
 */
export function usedSecrets(scope: Construct): UsedSecretDeclaration[] {
  const byName = new Map<string, { declaration: SecretDeclaration; by: string; namespaces: Set<string> }>();
  for (const c of consumersUnder(scope)) {
    const by = componentOf(c)?.name ?? c.node.scope!.node.id;
    const known = byName.get(c.secret);
    if (!known) {
      byName.set(c.secret, { declaration: c.declaration, by, namespaces: new Set([c.namespace]) });
      continue;
    }
    if (known.declaration !== c.declaration && !sameDeclaration(known.declaration, c.declaration)) {
      throw new Error(`secret "${c.secret}" is declared differently by ${known.by} and ${by}; one Secret has one set of keys, type and labels: share one declaration (as REGISTRY_CREDENTIALS in lib/secrets.ts is) or rename one`);
    }
    known.namespaces.add(c.namespace);
  }
  return [...byName.values()]
    .map(({ declaration, namespaces }) => ({ ...declaration, namespaces: [...namespaces].sort(compareText) }))
    .sort((a, b) => compareText(a.name, b.name));
}

function sameDeclaration(a: SecretDeclaration, b: SecretDeclaration): boolean {
  const norm = (d: SecretDeclaration) => JSON.stringify([d.type, Object.entries(d.keys).sort(), Object.entries(d.labels ?? {}).sort()]);
  return norm(a) === norm(b);
}

function consumersUnder(scope: Construct): SecretConsumer[] {
  return scope.node.findAll().filter((c): c is SecretConsumer => c instanceof SecretConsumer);
}
