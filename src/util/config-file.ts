import fs from 'node:fs';
import YAML from 'yaml';
import { z } from 'zod';
import { UserError } from '../util/errors.js';

/** Reads a YAML or JSON config file into a plain object. */
export function readConfigFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`--config: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let value: unknown;
  try {
    value = file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new UserError(`--config: ${file} is not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw new UserError(`--config: ${file} must hold a mapping of option names to values`);
  return value as Record<string, unknown>;
}

/** Validates merged options against a schema; errors name the option (and the config file when given). */
export function validateConfig<S extends z.ZodType>(schema: S, value: unknown, source: string): z.infer<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('\n');
    throw new UserError(`invalid options (${source}):\n${issues}`);
  }
  return parsed.data;
}

/** Deep-merges plain objects: later sources override earlier ones, nested objects merge. */
export function mergeOptions(...sources: Record<string, unknown>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue;
      const prev = out[k];
      out[k] = isPlainObject(prev) && isPlainObject(v) ? mergeOptions(prev, v) : v;
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
