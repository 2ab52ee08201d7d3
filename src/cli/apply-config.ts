import type { Command } from 'commander';
import { z } from 'zod';
import { readConfigFile, validateConfig } from '../util/config-file.js';

/**
 * `--config file` for verbs whose options are plain flags: the file's keys (the flags' camelCase names, validated by
 * `schema`, unknown keys reported by name) fill every option not given on the command line; flags win.
 */
export function applyConfigFile<T extends object>(cmd: Command, flags: T, schema: z.ZodObject<z.ZodRawShape>): T {
  const file = (flags as { config?: string }).config;
  if (!file) return flags;
  const values = validateConfig(schema.strict(), readConfigFile(file), `--config ${file}`) as Record<string, unknown>;
  const out: Record<string, unknown> = { ...(flags as Record<string, unknown>) };
  for (const [k, v] of Object.entries(values)) {
    if (cmd.getOptionValueSource(k) === 'cli') continue;
    out[k] = typeof v === 'boolean' ? v : Array.isArray(v) ? v.join(',') : String(v);
  }
  return out as T;
}
