// Sync waves, derived rather than typed by hand: a component depends on the components it names and on
// every component that provides the CRDs of the custom resources it writes. Its wave is one more than
// the highest wave among its dependencies; a component with none is in wave 0.
import { Component } from './component';
import { compareText } from './text';

export class OrderingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OrderingError';
  }
}

/** Every dependency of every component: declared ones plus CRD providers. */
export function dependencies(components: readonly Component[]): Map<Component, Component[]> {
  const providers = new Map<string, Component>();
  for (const c of components) {
    for (const group of c.providesApiGroups) {
      const other = providers.get(group);
      if (other) throw new OrderingError(`API group ${group} is provided by both ${other.name} and ${c.name}; only one component may install a CRD group`);
      providers.set(group, c);
    }
  }
  const result = new Map<Component, Component[]>();
  for (const c of components) {
    const deps = new Set<Component>(c.declaredDependencies);
    for (const group of c.usedApiGroups) {
      const provider = providers.get(group);
      if (!provider) {
        throw new OrderingError(
          `${c.name} writes ${group} custom resources, but no component provides that API group; ` +
          'enable the component that installs those CRDs (or list the group in its providesApiGroups)');
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
export function syncWaves(components: readonly Component[]): Map<Component, number> {
  const deps = dependencies(components);
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
