/**
 * The files that make a model: config.json plus one weights layout, found in this order (as transformers prefers):
 * model.safetensors, model.safetensors.index.json + its shards, pytorch_model.bin, pytorch_model.bin.index.json +
 * its shards. From the hub (through the cache) or from a local folder.
 */
import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';
import { hubDownload, hubDownloadOptional, type HubDownloadOptions } from './hub-download.js';
import type { ModelRef } from './model-ref.js';

export type WeightsFormat = 'safetensors' | 'pytorch';

export interface ModelFiles {
  ref: ModelRef;
  /** The commit the files come from (hub), or null for a local folder. */
  commit: string | null;
  configPath: string;
  config: Record<string, unknown>;
  format: WeightsFormat;
  /** The weights files: one file, or the shards an index names (in index order). */
  weights: string[];
  /** The index file for sharded checkpoints. */
  index?: string;
}

export const WEIGHT_CANDIDATES: { file: string; format: WeightsFormat; sharded: boolean }[] = [
  { file: 'model.safetensors', format: 'safetensors', sharded: false },
  { file: 'model.safetensors.index.json', format: 'safetensors', sharded: true },
  { file: 'pytorch_model.bin', format: 'pytorch', sharded: false },
  { file: 'pytorch_model.bin.index.json', format: 'pytorch', sharded: true },
];

export function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message})`);
  }
}

/** The shard file names of an index.json (`weight_map` values), in first-use order. */
export function shardNames(indexFile: string): string[] {
  const map = readJson(indexFile)['weight_map'];
  if (!map || typeof map !== 'object') throw new UserError(`${indexFile}: no "weight_map" object`);
  const names = [...new Set(Object.values(map as Record<string, string>))];
  for (const n of names) if (typeof n !== 'string' || n.includes('..') || path.isAbsolute(n)) throw new UserError(`${indexFile}: bad shard name ${JSON.stringify(n)}`);
  return names;
}

export async function modelFiles(ref: ModelRef, opts: HubDownloadOptions & { configOnly?: boolean } = {}): Promise<ModelFiles> {
  if (ref.kind === 'folder') {
    const configPath = path.join(ref.dir, 'config.json');
    const base = { ref, commit: null, configPath, config: readJson(configPath) };
    if (opts.configOnly) return { ...base, format: 'safetensors', weights: [] };
    for (const c of WEIGHT_CANDIDATES) {
      const p = path.join(ref.dir, c.file);
      if (!fs.existsSync(p)) continue;
      if (!c.sharded) return { ...base, format: c.format, weights: [p] };
      return { ...base, format: c.format, index: p, weights: shardNames(p).map((n) => path.join(ref.dir, n)) };
    }
    throw new UserError(`${ref.dir}: no weights (${WEIGHT_CANDIDATES.map((c) => c.file).join(', ')})`);
  }
  const at = (file: string) => ({ repo: ref.repo, revision: ref.revision, file });
  const cfg = await hubDownload(at('config.json'), opts);
  // Every later file is fetched at the commit config.json came from, so one model never mixes two commits.
  const pinned = (file: string) => ({ repo: ref.repo, revision: cfg.commit, file });
  const base = { ref, commit: cfg.commit, configPath: cfg.path, config: readJson(cfg.path) };
  if (opts.configOnly) return { ...base, format: 'safetensors', weights: [] };
  for (const c of WEIGHT_CANDIDATES) {
    const got = await hubDownloadOptional(pinned(c.file), opts);
    if (!got) continue;
    if (!c.sharded) return { ...base, format: c.format, weights: [got.path] };
    const shards: string[] = [];
    for (const n of shardNames(got.path)) shards.push((await hubDownload(pinned(n), opts)).path);
    return { ...base, format: c.format, index: got.path, weights: shards };
  }
  throw new UserError(`hub: ${ref.repo}@${ref.revision} (commit ${cfg.commit}) has no weights file (${WEIGHT_CANDIDATES.map((c) => c.file).join(', ')})`);
}
