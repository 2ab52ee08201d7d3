/**
 * hubDownload: one file of a hub repo as a local path, with huggingface_hub's semantics and cache. A file pinned by
 * commit and already cached, or any cached file in offline mode, costs no network; otherwise one HEAD request
 * resolves the revision to a commit and the file to its etag, and the blob is downloaded only if the cache lacks it
 * (resumable, verified against the etag, renamed into place only when complete and correct).
 */
import fs from 'node:fs';
import path from 'node:path';
import { blobPath, COMMIT_RE, findCached, linkSnapshot, snapshotPath, writeRef } from './cache-layout.js';
import { downloadBlob } from './download-blob.js';
import { describe, HubHttpError, HubIntegrityError, HubOfflineError, type HubFileRef } from './errors.js';
import { fetchFileMetadata, type HubFileMetadata } from './file-metadata.js';
import { hubSettings, type HubSettings } from './settings.js';
import { checkEtag } from './verify.js';

export interface HubDownloadOptions {
  settings?: HubSettings;
  log?: (m: string) => void;
  /** Resumption attempts after a dropped connection (default 5). */
  retries?: number;
}

export interface HubFile {
  path: string;
  commit: string;
  /** True when nothing was fetched over the network. */
  fromCache: boolean;
}

function commitOfSnapshot(p: string): string {
  return path.basename(path.dirname(p));
}

export async function hubDownload(ref: HubFileRef, opts: HubDownloadOptions = {}): Promise<HubFile> {
  const s = opts.settings ?? hubSettings();
  const log = opts.log ?? ((m: string) => console.error(m));
  const cached = findCached(s.cacheDir, ref.repo, ref.revision, ref.file);
  if (cached && (s.offline || COMMIT_RE.test(ref.revision))) return { path: cached, commit: commitOfSnapshot(cached), fromCache: true };
  if (s.offline) {
    throw new HubOfflineError(ref, `not in the hub cache ${s.cacheDir} and HF_HUB_OFFLINE is set (download it once online, e.g. \`plumage models pull hf:${ref.repo}@${ref.revision}\`)`);
  }
  let meta: HubFileMetadata;
  try {
    meta = await fetchFileMetadata(s.endpoint, ref, s.token);
  } catch (err) {
    if (err instanceof HubHttpError) throw err;
    const e = err as Error & { cause?: Error };
    if (cached) {
      log(`hub: cannot reach ${s.endpoint} (${e.cause?.message ?? e.message}); using the cached ${describe(ref)}`);
      return { path: cached, commit: commitOfSnapshot(cached), fromCache: true };
    }
    throw new HubOfflineError(ref, `cannot reach ${s.endpoint} (${e.cause?.message ?? e.message}) and the file is not in the hub cache ${s.cacheDir}`);
  }
  const snap = snapshotPath(s.cacheDir, ref.repo, meta.commit, ref.file);
  const blob = blobPath(s.cacheDir, ref.repo, meta.etag);
  if (fs.existsSync(snap) && fs.existsSync(blob)) {
    writeRef(s.cacheDir, ref.repo, ref.revision, meta.commit);
    return { path: snap, commit: meta.commit, fromCache: true };
  }
  if (!fs.existsSync(blob)) {
    fs.mkdirSync(path.dirname(blob), { recursive: true });
    const part = `${blob}.incomplete`;
    try {
      await downloadBlob({ url: meta.location, token: s.token, endpoint: s.endpoint, size: meta.size, label: `${ref.repo}/${ref.file}`, log, retries: opts.retries }, part);
    } catch (err) {
      throw new HubOfflineError(ref, (err as Error).message);
    }
    const bad = await checkEtag(part, meta.etag);
    if (bad) {
      fs.rmSync(part, { force: true });
      throw new HubIntegrityError(ref, `${bad}; the download was discarded and the cache left as it was`);
    }
    fs.renameSync(part, blob);
  }
  const p = linkSnapshot(s.cacheDir, ref.repo, meta.commit, ref.file, meta.etag);
  writeRef(s.cacheDir, ref.repo, ref.revision, meta.commit);
  return { path: p, commit: meta.commit, fromCache: false };
}

/** Like hubDownload, but null instead of an error when the file does not exist on the hub (404). */
export async function hubDownloadOptional(ref: HubFileRef, opts: HubDownloadOptions = {}): Promise<HubFile | null> {
  const s = opts.settings ?? hubSettings();
  if (s.offline && !findCached(s.cacheDir, ref.repo, ref.revision, ref.file)) return null;
  try {
    return await hubDownload(ref, opts);
  } catch (err) {
    if (err instanceof HubHttpError && err.status === 404) return null;
    throw err;
  }
}
