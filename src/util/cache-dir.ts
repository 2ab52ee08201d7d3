import os from 'node:os';
import path from 'node:path';

/** plumage's cache root: $PLUMAGE_CACHE, else $XDG_CACHE_HOME/plumage, else ~/.cache/plumage. */
export function plumageCacheDir(): string {
  if (process.env.PLUMAGE_CACHE) return path.resolve(process.env.PLUMAGE_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'plumage');
}
