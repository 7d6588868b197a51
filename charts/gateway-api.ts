// The Gateway API's standard-channel CRDs (Gateway, HTTPRoute, TLSRoute, ReferenceGrant, ...), in an
// environment whose exposure is gateway-api. No chart ships them: the platform applies the vendored copy
// vendor/crds/<file> of the version versions.yaml's `crds.gateway-api` names (a byte copy of
// ../shared/crds/<file>, which synth may not read). Every component whose objects are of these kinds (the
// shared Gateway, each endpoint's route) and cert-manager (whose controller with Gateway API support does
// not start without them) is synced after this one, found from the CRDs it applies (lib/ordering.ts).
import * as fs from 'fs';
import * as path from 'path';
import * as yaml from 'js-yaml';
import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { ManifestComponent } from '../lib/component';
import { deepFreeze } from '../lib/freeze';
import { projectRoot } from '../lib/helm';
import { loadVersions } from '../lib/versions';

/** versions.yaml's key of the CRDs, and the label the upstream bundle stamps its version with. */
export const GATEWAY_API_CRDS = 'gateway-api';
const BUNDLE_VERSION_LABEL = 'gateway.networking.k8s.io/bundle-version';

export interface GatewayApiProps {
  /** The Application's destination namespace (the CRDs are cluster-scoped): the Gateway's. */
  readonly namespace: string;
}

/**
 * The last CRD file parsed, by its text: parsing its ~1 MB takes ~0.1 s, and a process that builds several
 * platforms (the tests, a synth of several environments) reads the same file each time. Frozen: shared.
 */
let lastParsed: { text: string; crds: readonly Record<string, any>[] } | undefined;

/** The vendored CRD file of the Gateway API version versions.yaml names, as manifests (frozen). */
export function gatewayApiCrds(root: string = projectRoot()): { version: string; file: string; crds: readonly Record<string, any>[] } {
  const entry = loadVersions(root).crds[GATEWAY_API_CRDS];
  if (!entry) throw new Error(`versions.yaml names no crds.${GATEWAY_API_CRDS}; the gateway-api exposure needs its CRDs`);
  const file = path.join('vendor', 'crds', entry.file);
  let text: string;
  try {
    text = fs.readFileSync(path.join(root, file), 'utf8');
  } catch {
    throw new Error(`${file} is missing: copy ../shared/crds/${entry.file} there (the Gateway API ${entry.version} CRDs) and commit it`);
  }
  if (lastParsed?.text !== text) {
    lastParsed = { text, crds: deepFreeze((yaml.loadAll(text) as unknown[]).filter((d): d is Record<string, any> => typeof d === 'object' && d !== null)) };
  }
  const crds = lastParsed.crds;
  for (const crd of crds) {
    const stamped = crd.metadata?.annotations?.[BUNDLE_VERSION_LABEL];
    if (crd.kind !== 'CustomResourceDefinition' || stamped !== entry.version) {
      throw new Error(`${file}: ${crd.kind} ${crd.metadata?.name} is ${stamped ? `of bundle ${stamped}` : 'no Gateway API CRD'}, not of ${entry.version} as versions.yaml says; copy ../shared/crds/${entry.file} again`);
    }
  }
  return { version: entry.version, file, crds };
}

export class GatewayApiChart extends ManifestComponent {
  public readonly version: string;

  constructor(scope: Construct, props: GatewayApiProps) {
    super(scope, GATEWAY_API_CRDS, { namespace: props.namespace });
    const { version, crds } = gatewayApiCrds();
    this.version = version;
    for (const crd of crds) new ApiObject(this, crd.metadata.name, crd as any);
  }
}
