/**
 * config.json of a model reference, synchronously: the architecture registry's `getArchitecture(name)` is synchronous
 * (its callers read `inputSize` at once), so a hub model's config is read from the hub cache, or, when the cache does
 * not have it yet, fetched by a short child process running the same hub client (fetch-file-cli.ts). Weights are
 * fetched later, asynchronously, by the model's `build()`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../util/errors.js';
import { findCached } from './cache-layout.js';
import { HubOfflineError } from './errors.js';
import type { ModelRef } from './model-ref.js';
import { readJson } from './model-files.js';
import { hubSettings } from './settings.js';

export function readConfigSync(ref: ModelRef, env: NodeJS.ProcessEnv = process.env): { config: Record<string, unknown>; source: string } {
  if (ref.kind === 'folder') {
    const p = path.join(ref.dir, 'config.json');
    return { config: readJson(p), source: p };
  }
  const s = hubSettings(env);
  const cached = findCached(s.cacheDir, ref.repo, ref.revision, 'config.json');
  if (cached) return { config: readJson(cached), source: `${ref.repo}@${ref.revision}/config.json` };
  const fileRef = { repo: ref.repo, revision: ref.revision, file: 'config.json' };
  if (s.offline) throw new HubOfflineError(fileRef, `not in the hub cache ${s.cacheDir} and HF_HUB_OFFLINE is set`);
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fetch-file-cli.ts');
  const r = spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), script, ref.repo, ref.revision, 'config.json'], {
    encoding: 'utf8',
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  if (r.status !== 0) throw new UserError(r.stderr.trim().split('\n').slice(-3).join('\n') || `hub: fetching ${ref.repo}@${ref.revision}/config.json failed (${r.signal ?? r.status})`);
  const { path: p } = JSON.parse(r.stdout) as { path: string };
  if (!fs.existsSync(p)) throw new UserError(`hub: ${p} missing after download`);
  return { config: readJson(p), source: `${ref.repo}@${ref.revision}/config.json` };
}
