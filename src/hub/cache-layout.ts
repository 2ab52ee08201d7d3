/**
 * huggingface_hub's cache layout, shared with Python:
 *   <cache>/models--ORG--NAME/blobs/<etag>                    file contents (etag = sha256 for LFS files, git sha1 otherwise)
 *   <cache>/models--ORG--NAME/refs/<revision>                 the commit hash a branch/tag pointed to
 *   <cache>/models--ORG--NAME/snapshots/<commit>/<file>       relative symlink to ../../blobs/<etag>
 *   <cache>/models--ORG--NAME/.no_exist/<commit>/<file>       marker: the file does not exist at that commit
 * Incomplete downloads are `blobs/<etag>.incomplete` (resumed with Range on the next try).
 */
import fs from 'node:fs';
import path from 'node:path';

export const COMMIT_RE = /^[0-9a-f]{40}$/;

export function repoFolder(cacheDir: string, repo: string): string {
  return path.join(cacheDir, `models--${repo.split('/').join('--')}`);
}

export function blobPath(cacheDir: string, repo: string, etag: string): string {
  return path.join(repoFolder(cacheDir, repo), 'blobs', etag);
}

export function snapshotPath(cacheDir: string, repo: string, commit: string, file: string): string {
  return path.join(repoFolder(cacheDir, repo), 'snapshots', commit, ...file.split('/'));
}

/** The commit a revision resolves to in the cache: the revision itself when it is a commit hash, else refs/<revision>. */
export function cachedCommit(cacheDir: string, repo: string, revision: string): string | null {
  if (COMMIT_RE.test(revision)) return revision;
  try {
    const c = fs.readFileSync(path.join(repoFolder(cacheDir, repo), 'refs', ...revision.split('/')), 'utf8').trim();
    return COMMIT_RE.test(c) ? c : null;
  } catch {
    return null;
  }
}

/** A cached file for repo@revision (no network), or null. */
export function findCached(cacheDir: string, repo: string, revision: string, file: string): string | null {
  const commit = cachedCommit(cacheDir, repo, revision);
  if (!commit) return null;
  const p = snapshotPath(cacheDir, repo, commit, file);
  return fs.existsSync(p) ? p : null;
}

/** True when the cache records that `file` does not exist at the commit `revision` resolves to. */
export function cachedMissing(cacheDir: string, repo: string, revision: string, file: string): boolean {
  const commit = cachedCommit(cacheDir, repo, revision);
  return commit !== null && fs.existsSync(path.join(repoFolder(cacheDir, repo), '.no_exist', commit, ...file.split('/')));
}

export function writeRef(cacheDir: string, repo: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const ref = path.join(repoFolder(cacheDir, repo), 'refs', ...revision.split('/'));
  fs.mkdirSync(path.dirname(ref), { recursive: true });
  let current: string | null = null;
  try {
    current = fs.readFileSync(ref, 'utf8');
  } catch {
    current = null;
  }
  if (current === commit) return;
  const tmp = `${ref}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, commit);
  fs.renameSync(tmp, ref);
}

/** Points snapshots/<commit>/<file> at the blob (relative symlink as Python makes; a copy where links are refused). */
export function linkSnapshot(cacheDir: string, repo: string, commit: string, file: string, etag: string): string {
  const dest = snapshotPath(cacheDir, repo, commit, file);
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const blob = blobPath(cacheDir, repo, etag);
  const tmp = `${dest}.${process.pid}.tmp`;
  fs.rmSync(tmp, { force: true });
  try {
    fs.symlinkSync(path.relative(path.dirname(dest), blob), tmp);
  } catch {
    fs.copyFileSync(blob, tmp);
  }
  fs.renameSync(tmp, dest);
  return dest;
}

export function markMissing(cacheDir: string, repo: string, commit: string, file: string): void {
  const p = path.join(repoFolder(cacheDir, repo), '.no_exist', commit, ...file.split('/'));
  fs.mkdirSync(path.dirname(p), { recursive: true });
  fs.writeFileSync(p, '');
}
