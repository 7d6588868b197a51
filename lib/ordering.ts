// Sync waves, derived rather than typed by hand: a component depends on the components it names and on
// every component that installs the CRD of a custom resource it applies (what it writes, or what its chart
// renders). Both sides come from what the components actually apply, CRDs included, so a chart that starts
// or stops shipping a CRD moves the waves with it. A component's wave is one more than the highest wave
// among its dependencies; a component with none is in wave 0.
import { Component, kindOf } from './component';
import { compareText } from './text';

export class OrderingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrderingError';
  }
}

export interface OrderingOptions {
  /** Whether a `group/Kind` is served by Kubernetes itself rather than by a CRD. */
  readonly isBuiltIn: (kind: string) => boolean;
  /**
   * `group/Kind`s whose CRDs exist before any component syncs (Argo CD's own, installed by bootstrap/).
   * @default - none
   */
  readonly preinstalled?: ReadonlySet<string>;
}

/** The `group/Kind` of each CRD a component applies. */
function providedKinds(c: Component): string[] {
  return c.appliedManifests
    .filter((m) => m.kind === 'CustomResourceDefinition' && m.apiVersion.startsWith('apiextensions.k8s.io/'))
    .map((m) => {
      const spec = (m as { spec?: { group?: string; names?: { kind?: string } } }).spec;
      return `${spec?.group}/${spec?.names?.kind}`;
    });
}

/** Every dependency of every component: declared ones plus the installers of the CRDs it uses. */
export function dependencies(components: readonly Component[], options: OrderingOptions): Map<Component, Component[]> {
  const providers = new Map<string, Component>();
  for (const c of components) {
    for (const kind of providedKinds(c)) {
      const other = providers.get(kind);
      if (other && other !== c) throw new OrderingError(`the CRD of ${kind} is installed by both ${other.name} and ${c.name}; only one component may install a CRD (turn it off in one chart's values)`);
      providers.set(kind, c);
    }
  }
  const result = new Map<Component, Component[]>();
  for (const c of components) {
    const deps = new Set<Component>(c.declaredDependencies);
    const used = new Set(c.appliedManifests.map(kindOf).filter((k) => !options.isBuiltIn(k) && !options.preinstalled?.has(k)));
    for (const kind of [...used].sort(compareText)) {
      const provider = providers.get(kind);
      if (!provider) {
        throw new OrderingError(
          `${c.name} applies ${kind.replace('/', ' ')} objects, but no component of the platform installs that CRD; ` +
          'enable the component whose chart installs it, or drop the objects');
      }
      if (provider !== c) deps.add(provider);
    }
    for (const d of deps) {
      if (!components.includes(d)) throw new OrderingError(`${c.name} depends on ${d.name}, which is not part of this platform`);
    }
    result.set(c, [...deps].sort((a, b) => compareText(a.name, b.name)));
  }
  return result;
}

/** The sync wave of each component. Throws on a dependency cycle, naming it. */
export function syncWaves(components: readonly Component[], options: OrderingOptions): Map<Component, number> {
  const deps = dependencies(components, options);
  const waves = new Map<Component, number>();
  const visiting: Component[] = [];
  const visit = (c: Component): number => {
    const known = waves.get(c);
    if (known !== undefined) return known;
    if (visiting.includes(c)) {
      const cycle = [...visiting.slice(visiting.indexOf(c)), c].map((x) => x.name).join(' -> ');
      throw new OrderingError(`dependency cycle: ${cycle}`);
    }
    visiting.push(c);
    const wave = Math.max(-1, ...deps.get(c)!.map(visit)) + 1;
    visiting.pop();
    waves.set(c, wave);
    return wave;
  };
  components.forEach(visit);
  return waves;
}
