// TLS: every TLS secret an Ingress or an Istio Gateway serves is filled by a Certificate (or declared),
// and every issuer a Certificate or an Ingress names exists.
import { closest } from './schema';
import { Context, isObject, Json, KObject, list, namespacedName, str } from './context';
import { podModels } from './rules-monitoring';

const CLUSTER_ISSUER_ANNOTATION = 'cert-manager.io/cluster-issuer';
const ISSUER_ANNOTATION = 'cert-manager.io/issuer';
const CERT_MANAGER_GROUP = 'cert-manager.io';

function elsewhere(certs: KObject[]): string {
  if (certs.length === 0) return '';
  return ` (${certs.map((c) => c.label).join(', ')} fills a secret of that name in another namespace; a secret is only read from its own namespace)`;
}

/** ingress-tls-certificate */
export function ingressTlsCertificate(ctx: Context): void {
  const certs = ctx.certificatesBySecret();
  for (const ing of ctx.of('networking.k8s.io', 'Ingress')) {
    const annotations = isObject(ing.manifest.metadata?.annotations) ? ing.manifest.metadata.annotations : {};
    const shim = [CLUSTER_ISSUER_ANNOTATION, ISSUER_ANNOTATION].find((a) => a in annotations);
    list(ing.manifest.spec?.tls).forEach((tls, i) => {
      const secret = str(tls?.secretName);
      if (!secret) return;
      const filledBy = certs.get(namespacedName(ing.namespace, secret));
      if (filledBy) {
        if (shim) {
          ctx.report('ingress-tls-certificate', ing, ['metadata', 'annotations', shim],
            `annotation ${shim} makes cert-manager issue secret "${secret}" a second time, next to ${filledBy[0].label} (${filledBy[0].file}), and the two fight over it`,
            `remove the ${shim} annotation: the Certificate already fills ${secret}`);
        }
        return;
      }
      if (ctx.isRuntimeSecret(ing.namespace, secret)) return;
      ctx.report('ingress-tls-certificate', ing, ['spec', 'tls', i, 'secretName'],
        `TLS secret "${secret}" is not the spec.secretName of any cert-manager Certificate in namespace ${ing.namespace}${elsewhere(ctx.certificatesNamed(secret))}`,
        `declare a Certificate with spec.secretName: ${secret} in namespace ${ing.namespace} (a TlsEndpoint does), ` +
        'or, if a controller creates the secret at run time, list it in the runtimeObjects of the component that runs that controller');
    });
  }
}

/**
 * The namespaces of the gateway workloads a Gateway's selector selects, by their pods' labels (ours and
 * rendered: the istio-ingressgateway chart's Deployment). Istio reads a Gateway's tls.credentialName from
 * the namespace of the gateway *workload*, not of the Gateway object, wherever the platform installs it.
 * Undefined when the Gateway has no selector (then no single workload is known).
 */
function gatewayWorkloadNamespaces(ctx: Context, gw: KObject): string[] | undefined {
  const selector = gw.manifest.spec?.selector;
  if (!isObject(selector) || Object.keys(selector).length === 0) return undefined;
  const namespaces = podModels(ctx)
    .filter((p) => p.object && Object.entries(selector).every(([k, v]) => p.labels[k] === v))
    .map((p) => p.namespace);
  return [...new Set(namespaces)].sort();
}

/** gateway-credential */
export function gatewayCredential(ctx: Context): void {
  const declared = ctx.declaredSecrets();
  for (const gw of ctx.of('networking.istio.io', 'Gateway')) {
    const names: [string, (string | number)[]][] = [];
    list(gw.manifest.spec?.servers).forEach((server, i) => {
      const tls = server?.tls;
      if (!isObject(tls)) return;
      const mode = str(tls.mode);
      if (mode === 'PASSTHROUGH' || mode === 'AUTO_PASSTHROUGH' || mode === 'ISTIO_MUTUAL') return;
      if (str(tls.credentialName)) names.push([tls.credentialName, ['spec', 'servers', i, 'tls', 'credentialName']]);
      list(tls.credentialNames).forEach((n, j) => { if (str(n)) names.push([n, ['spec', 'servers', i, 'tls', 'credentialNames', j]]); });
    });
    if (names.length === 0) continue;
    const namespaces = gatewayWorkloadNamespaces(ctx, gw);
    if (namespaces === undefined) continue;
    if (namespaces.length === 0) {
      const selector = gw.manifest.spec.selector as Record<string, Json>;
      ctx.report('gateway-credential', gw, ['spec', 'selector'],
        `selector ${Object.entries(selector).map(([k, v]) => `${k}=${String(v)}`).join(',')} selects no gateway workload, so nothing serves this Gateway ` +
        'and no namespace holds its credentialName (Istio reads it from the namespace of the gateway workload)',
        'set spec.selector to the pod labels of the ingress gateway (e.g. istio: ingressgateway), or install the gateway (the istio-ingressgateway component)');
      continue;
    }
    for (const namespace of namespaces) {
      for (const [name, field] of names) {
        if (declared.has(namespacedName(namespace, name)) || ctx.isRuntimeSecret(namespace, name)) continue;
        const other = ctx.secretElsewhere(namespace, name);
        const hint = other.length > 0 ? ` (a secret of that name is declared in ${other.join(', ')}, but the gateway workload only reads ${namespace})` : '';
        ctx.report('gateway-credential', gw, field,
          `credentialName "${name}" has no Certificate (or declared secret) in namespace ${namespace}, where the ingress gateway workload reads it${hint}`,
          `declare a Certificate with spec.secretName: ${name} in namespace ${namespace} (a TlsEndpoint there does), or, if a controller creates the secret at run time, ` +
          `list it in the runtimeObjects of the component that runs that controller`);
      }
    }
  }
}

/** issuer-exists */
export function issuerExists(ctx: Context): void {
  const clusterIssuers = new Set(ctx.of(CERT_MANAGER_GROUP, 'ClusterIssuer').map((o) => o.name));
  const issuers = new Set(ctx.of(CERT_MANAGER_GROUP, 'Issuer').map((o) => namespacedName(o.namespace, o.name)));
  const issuersIn = (ns: string | undefined) => [...issuers].filter((k) => k.startsWith(`${ns ?? ''}/`)).map((k) => k.slice(k.indexOf('/') + 1));

  const check = (o: KObject, kind: string, name: string, field: (string | number)[]) => {
    if (kind === 'ClusterIssuer') {
      if (clusterIssuers.has(name)) return;
      const names = [...clusterIssuers].sort();
      const guess = closest(name, names);
      ctx.report('issuer-exists', o, field,
        `ClusterIssuer "${name}" does not exist; ${names.length > 0 ? `the ClusterIssuers are: ${names.join(', ')}` : 'no ClusterIssuer is declared'}`,
        `${guess ? `use "${guess}" (or another declared one)` : 'name a declared ClusterIssuer'}, or declare ClusterIssuer "${name}" (certManager.issuers in the config)`);
    } else if (kind === 'Issuer') {
      if (issuers.has(namespacedName(o.namespace, name))) return;
      const names = issuersIn(o.namespace).sort();
      ctx.report('issuer-exists', o, field,
        `Issuer "${name}" does not exist in namespace ${o.namespace}; ${names.length > 0 ? `the Issuers there are: ${names.join(', ')}` : 'no Issuer is declared there'}` +
        (clusterIssuers.has(name) ? ` (a ClusterIssuer "${name}" exists: the kind is probably meant to be ClusterIssuer)` : ''),
        clusterIssuers.has(name) ? 'set the kind to ClusterIssuer' : `declare Issuer "${name}" in namespace ${o.namespace}, or name an existing one`);
    }
  };

  for (const cert of ctx.of(CERT_MANAGER_GROUP, 'Certificate')) {
    const ref = cert.manifest.spec?.issuerRef;
    if (!isObject(ref) || !str(ref.name)) continue;
    const group = str(ref.group) ?? CERT_MANAGER_GROUP;
    if (group !== CERT_MANAGER_GROUP) continue; // an external issuer (e.g. awspca.cert-manager.io): not ours to check
    check(cert, str(ref.kind) ?? 'Issuer', ref.name, ['spec', 'issuerRef', 'name']);
  }
  for (const ing of ctx.of('networking.k8s.io', 'Ingress')) {
    const annotations = ing.manifest.metadata?.annotations;
    if (!isObject(annotations)) continue;
    const cluster = str(annotations[CLUSTER_ISSUER_ANNOTATION]);
    if (cluster) check(ing, 'ClusterIssuer', cluster, ['metadata', 'annotations', CLUSTER_ISSUER_ANNOTATION]);
    const issuer = str(annotations[ISSUER_ANNOTATION]);
    const issuerGroup = str(annotations['cert-manager.io/issuer-group']) ?? CERT_MANAGER_GROUP;
    if (issuer && issuerGroup === CERT_MANAGER_GROUP) {
      check(ing, str(annotations['cert-manager.io/issuer-kind']) ?? 'Issuer', issuer, ['metadata', 'annotations', ISSUER_ANNOTATION]);
    }
  }
}
