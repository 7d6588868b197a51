/**
 * Freezes an object and everything under it, children first, so that an object found frozen is frozen all
 * the way down: a frozen subtree is not walked again, and the validation's digest memo (lib/validation/index.ts)
 * may take a frozen object as one that cannot change. The config and the chart renders are frozen with it.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
