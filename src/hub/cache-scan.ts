/** What the hub cache holds (for `plumage models list|verify`): repos, their refs and snapshot files, blob checks. */
import fs from 'node:fs';
import path from 'node:path';
import { repoFolder } from './cache-layout.js';
import { checkEtag } from './verify.js';

export interface CachedRepo {
  repo: string;
  refs: Record<string, string>;
  /** commit -> files in that snapshot */
  snapshots: Record<string, string[]>;
  bytes: number;
  modelType?: string;
}

function walk(dir: string, prefix = ''): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name), `${prefix}${e.name}/`) : [`${prefix}${e.name}`]));
}

export function scanRepo(cacheDir: string, repo: string): CachedRepo | null {
  const root = repoFolder(cacheDir, repo);
  if (!fs.existsSync(root)) return null;
  const refs: Record<string, string> = {};
  for (const r of walk(path.join(root, 'refs'))) refs[r] = fs.readFileSync(path.join(root, 'refs', r), 'utf8').trim();
  const snapshots: Record<string, string[]> = {};
  const snapDir = path.join(root, 'snapshots');
  for (const c of fs.existsSync(snapDir) ? fs.readdirSync(snapDir) : []) snapshots[c] = walk(path.join(snapDir, c));
  const bytes = walk(path.join(root, 'blobs')).reduce((a, b) => a + fs.statSync(path.join(root, 'blobs', b)).size, 0);
  let modelType: string | undefined;
  const main = refs['main'] ?? Object.keys(snapshots)[0];
  const cfg = main ? path.join(snapDir, main, 'config.json') : '';
  if (cfg && fs.existsSync(cfg)) {
    try {
      modelType = String((JSON.parse(fs.readFileSync(cfg, 'utf8')) as Record<string, unknown>)['model_type']);
    } catch {
      modelType = 'unreadable config.json';
    }
  }
  return { repo, refs, snapshots, bytes, modelType };
}

export function scanCache(cacheDir: string): CachedRepo[] {
  if (!fs.existsSync(cacheDir)) return [];
  return fs
    .readdirSync(cacheDir)
    .filter((d) => d.startsWith('models--'))
    .map((d) => scanRepo(cacheDir, d.slice('models--'.length).split('--').join('/')))
    .filter((r): r is CachedRepo => r !== null);
}

/** Re-hashes every blob a snapshot of the repo points at against its etag (the blob's file name). */
export async function verifyRepo(cacheDir: string, repo: string): Promise<{ file: string; ok: boolean; error?: string }[]> {
  const r = scanRepo(cacheDir, repo);
  if (!r) return [];
  const out: { file: string; ok: boolean; error?: string }[] = [];
  for (const [commit, files] of Object.entries(r.snapshots)) {
    for (const f of files) {
      const p = path.join(repoFolder(cacheDir, repo), 'snapshots', commit, f);
      let target: string;
      try {
        target = fs.realpathSync(p);
      } catch {
        out.push({ file: p, ok: false, error: 'dangling link: its blob is missing' });
        continue;
      }
      const bad = path.dirname(target).endsWith(`${path.sep}blobs`) ? await checkEtag(target, path.basename(target)) : null;
      out.push({ file: p, ok: bad === null, error: bad ?? undefined });
    }
  }
  return out;
}
