/**
 * Pretrained artifact cache: resolve (find an already-present verified file), pull (download, verify, atomically
 * rename into place) and verify.
 *
 * Resolution order for reading: explicit `modelsDir`, $PLUMAGE_CACHE, the default user cache
 * ($XDG_CACHE_HOME/plumage or ~/.cache/plumage; %LOCALAPPDATA%\plumage on Windows), then `../shared/models`
 * beside the project root when it exists. In each folder a file is looked up at its registry path
 * (`coral/<file>`) and directly (`<file>`). Downloads go to the first writable of: explicit dir,
 * $PLUMAGE_CACHE, default cache.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Artifact, ARTIFACTS, getArtifact } from './registry.js';

export interface CacheOptions {
  /** Explicit models/cache folder (highest priority; also the download target when given). */
  modelsDir?: string;
  /** Registry to use (tests inject their own entries). */
  registry?: Artifact[];
  /** Never touch the network; fail when the file is not found locally. */
  offline?: boolean;
  /** Environment (defaults to process.env). */
  env?: NodeJS.ProcessEnv;
  /** Progress / notice sink. */
  log?: (msg: string) => void;
  /** Download timeout in milliseconds (default 120 s). */
  timeoutMs?: number;
}

export class IntegrityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IntegrityError';
  }
}

/** The project root: the nearest folder above this module holding package.json. */
export function projectRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return process.cwd();
}

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (process.platform === 'win32' && env.LOCALAPPDATA) return path.join(env.LOCALAPPDATA, 'plumage');
  const base = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(base, 'plumage');
}

/** Candidate folders in resolution order, each tagged with whether downloads may go there. */
export function candidateDirs(opts: CacheOptions = {}): { dir: string; source: string; writable: boolean }[] {
  const env = opts.env ?? process.env;
  const out: { dir: string; source: string; writable: boolean }[] = [];
  if (opts.modelsDir) out.push({ dir: path.resolve(opts.modelsDir), source: 'modelsDir', writable: true });
  if (env.PLUMAGE_CACHE) out.push({ dir: path.resolve(env.PLUMAGE_CACHE), source: 'PLUMAGE_CACHE', writable: true });
  out.push({ dir: defaultCacheDir(env), source: 'default cache', writable: true });
  const shared = path.resolve(projectRoot(), '..', 'shared', 'models');
  if (existsSync(shared)) out.push({ dir: shared, source: '../shared/models', writable: false });
  return out;
}

export async function sha256File(file: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

const verified = new Map<string, string>(); // path -> "size:mtime" already hashed OK in this process

/** Checks a file's SHA-256 against the artifact; throws IntegrityError on mismatch. */
export async function verifyFile(file: string, a: Artifact): Promise<void> {
  const st = await fs.stat(file);
  const key = `${st.size}:${st.mtimeMs}`;
  if (verified.get(file) === key) return;
  const got = await sha256File(file);
  if (got !== a.sha256) {
    throw new IntegrityError(`${a.id}: SHA-256 mismatch for ${file}: expected ${a.sha256}, got ${got} (${st.size} bytes; expected ${a.size})`);
  }
  verified.set(file, key);
}

function locations(dir: string, a: Artifact): string[] {
  return [path.join(dir, a.relPath), path.join(dir, path.basename(a.relPath))];
}

/** Finds a present, verified copy of the artifact; returns null when none is present. Throws on a corrupt copy in a read-only folder. */
export async function resolveArtifact(id: string, opts: CacheOptions = {}): Promise<string | null> {
  const a = getArtifact(id, opts.registry ?? ARTIFACTS);
  for (const c of candidateDirs(opts)) {
    for (const file of locations(c.dir, a)) {
      if (!existsSync(file)) continue;
      try {
        await verifyFile(file, a);
        return file;
      } catch (err) {
        if (!(err instanceof IntegrityError)) throw err;
        if (!c.writable) throw err;
        (opts.log ?? (() => {}))(`plumage: removing corrupt cached file ${file} (${err.message})`);
        await fs.rm(file, { force: true });
      }
    }
  }
  return null;
}

/** Where a download of the artifact goes (first writable candidate). */
export function downloadTarget(a: Artifact, opts: CacheOptions = {}): string {
  const c = candidateDirs(opts).find((x) => x.writable)!;
  return path.join(c.dir, a.relPath);
}

/**
 * Downloads `a.url` to `dest`: streams into a temp file beside it while hashing, checks the byte count and the
 * SHA-256, then renames into place. On any failure the temp file is removed and nothing is left at `dest`.
 */
export async function downloadArtifact(a: Artifact, dest: string, opts: CacheOptions = {}): Promise<void> {
  const log = opts.log ?? (() => {});
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.part-${process.pid}-${randomBytes(4).toString('hex')}`;
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), opts.timeoutMs ?? 120_000);
  let fh: fs.FileHandle | null = null;
  try {
    let res: Response;
    try {
      res = await fetch(a.url, { signal: ctrl.signal, redirect: 'follow' });
    } catch (err) {
      throw new Error(`${a.id}: download from ${a.url} failed: ${(err as Error).message}${(err as { cause?: Error }).cause ? ` (${(err as { cause?: Error }).cause!.message})` : ''}`);
    }
    if (!res.ok || !res.body) throw new Error(`${a.id}: download from ${a.url} failed: HTTP ${res.status} ${res.statusText}`);
    const declared = Number(res.headers.get('content-length') ?? NaN);
    log(`plumage: downloading ${a.id} (${Number.isFinite(declared) ? declared : a.size} bytes) from ${a.url}`);
    const h = createHash('sha256');
    let n = 0;
    fh = await fs.open(tmp, 'w');
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        h.update(chunk);
        n += chunk.length;
        await fh.write(chunk);
      }
    } catch (err) {
      throw new Error(`${a.id}: download from ${a.url} was interrupted after ${n} bytes: ${(err as Error).message}`);
    }
    await fh.close();
    fh = null;
    if (Number.isFinite(declared) && n !== declared) throw new Error(`${a.id}: truncated download from ${a.url}: got ${n} of ${declared} bytes`);
    const got = h.digest('hex');
    if (got !== a.sha256) throw new IntegrityError(`${a.id}: SHA-256 mismatch for download from ${a.url}: expected ${a.sha256}, got ${got} (${n} bytes)`);
    await fs.rename(tmp, dest);
    verified.delete(dest);
  } finally {
    clearTimeout(timer);
    if (fh) await fh.close().catch(() => {});
    await fs.rm(tmp, { force: true });
  }
}

/** Returns the local path of a verified copy of the artifact, downloading it when needed. */
export async function pullArtifact(id: string, opts: CacheOptions = {}): Promise<string> {
  const a = getArtifact(id, opts.registry ?? ARTIFACTS);
  const found = await resolveArtifact(id, opts);
  if (found) return found;
  if (opts.offline) {
    throw new Error(`${id}: not found in ${candidateDirs(opts).map((c) => c.dir).join(', ')} and offline mode is on`);
  }
  const dest = downloadTarget(a, opts);
  await downloadArtifact(a, dest, opts);
  return dest;
}

/** Pulls a model and its labels file; returns both paths. */
export async function pullModel(id: string, opts: CacheOptions = {}): Promise<{ model: string; labels: string | null }> {
  const a = getArtifact(id, opts.registry ?? ARTIFACTS);
  const model = await pullArtifact(id, opts);
  const labels = a.labels ? await pullArtifact(a.labels, opts) : null;
  return { model, labels };
}

export interface ArtifactStatus {
  id: string;
  format: string;
  license: string;
  url: string;
  sha256: string;
  /** Local verified path, or null when not present. */
  path: string | null;
  error?: string;
}

/** Lists registry entries with their local status (verifies present files). */
export async function listModels(opts: CacheOptions = {}): Promise<ArtifactStatus[]> {
  const out: ArtifactStatus[] = [];
  for (const a of opts.registry ?? ARTIFACTS) {
    const s: ArtifactStatus = { id: a.id, format: a.format, license: a.license, url: a.url, sha256: a.sha256, path: null };
    try {
      s.path = await resolveArtifact(a.id, opts);
    } catch (err) {
      s.error = (err as Error).message;
    }
    out.push(s);
  }
  return out;
}

/** Verifies every present copy of an artifact (all candidate folders); returns per-file results. */
export async function verifyModel(id: string, opts: CacheOptions = {}): Promise<{ file: string; ok: boolean; error?: string }[]> {
  const a = getArtifact(id, opts.registry ?? ARTIFACTS);
  const out: { file: string; ok: boolean; error?: string }[] = [];
  for (const c of candidateDirs(opts)) {
    for (const file of locations(c.dir, a)) {
      if (!existsSync(file)) continue;
      try {
        verified.delete(file);
        await verifyFile(file, a);
        out.push({ file, ok: true });
      } catch (err) {
        out.push({ file, ok: false, error: (err as Error).message });
      }
    }
  }
  return out;
}
