import { z } from 'zod';

/** The object shape under optional/default/nullable wrappers, or undefined when `schema` is not an object schema. */
function objectShape(schema: z.ZodType): Record<string, z.ZodType> | undefined {
  let cur: z.ZodType = schema;
  for (let depth = 0; depth < 8; depth++) {
    if (cur instanceof z.ZodObject) return cur.shape as Record<string, z.ZodType>;
    if (cur instanceof z.ZodDefault || cur instanceof z.ZodOptional || cur instanceof z.ZodNullable) cur = cur.unwrap() as z.ZodType;
    else return undefined;
  }
  return undefined;
}

/**
 * Dotted paths of keys in `value` that `schema` does not define, at any depth of nested objects. Zod's plain
 * objects drop unknown keys silently (the train config's `augment` block is one), so an override with a typo
 * would otherwise do nothing.
 */
export function unknownKeys(schema: z.ZodType, value: unknown, prefix = ''): string[] {
  const shape = objectShape(schema);
  if (!shape || typeof value !== 'object' || value === null || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const key = prefix ? `${prefix}.${k}` : k;
    const sub = shape[k];
    if (!sub) out.push(key);
    else out.push(...unknownKeys(sub, v, key));
  }
  return out;
}
