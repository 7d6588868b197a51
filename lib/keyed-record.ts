// A zod record whose bad keys are reported at their own path, for config schemas (lib/config.ts and the
// workload sections it spreads in).
import { z } from 'zod';

/**
 * A record whose keys `key` checks. A bad key is reported at its own path as `<what> "<key>" <problem>`
 * (then `; <fix>` when given), instead of zod's "Invalid key in record". `key` is a ZodString (every key is):
 * typed ZodType<string>, each call made tsc relate ZodString to ZodType structurally, seconds per type check.
 */
export function keyedRecord<V extends z.ZodType>(what: string, key: z.ZodString, value: V, fix?: string) {
  return z.record(key, value, {
    error: (iss) => {
      if (iss.code !== 'invalid_key') return undefined;
      const inner = ((iss as { issues?: { message: string }[] }).issues ?? []).map((i) => i.message);
      return `${what} "${String(iss.input)}" ${inner.join('; ') || 'is not allowed'}${fix ? `; ${fix}` : ''}`;
    },
  });
}
