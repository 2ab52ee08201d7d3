import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage } from './decode.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { plumageCacheDir } from '../util/cache-dir.js';
import { UserError } from '../util/errors.js';

/**
 * On-disk cache of decoded, resized pixels keyed by the file's content (SHA-1) and the target size,
 * so a second run (or a renamed copy of the same file) never decodes again.
 */
export class PixelCache {
  readonly dir: string;
  hits = 0;
  misses = 0;
  constructor(dir = path.join(plumageCacheDir(), 'pixels')) {
    this.dir = dir;
  }

  async load(file: string, size: number): Promise<Uint8Array> {
    let bytes: Buffer;
    try {
      bytes = fs.readFileSync(file);
    } catch (err) {
      throw new UserError(`${file}: cannot read image (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    const key = crypto.createHash('sha1').update(bytes).digest('hex');
    const cached = path.join(this.dir, key.slice(0, 2), `${key}-${size}.rgb`);
    const expected = size * size * 3;
    try {
      const buf = fs.readFileSync(cached);
      if (buf.length === expected) {
        this.hits++;
        return new Uint8Array(buf.buffer, buf.byteOffset, buf.length);
      }
    } catch {
      // not cached yet
    }
    this.misses++;
    const pixels = await decodeImage(bytes, size, file);
    try {
      writeFileAtomic(cached, pixels);
    } catch {
      // a read-only cache is not an error: we just decode next time
    }
    return pixels;
  }
}

/** Loads many images with bounded concurrency, calling onProgress after each. Output: one HWC uint8 array per file. */
export async function loadImages(
  files: string[],
  size: number,
  cache: PixelCache,
  onProgress?: (done: number) => void,
  concurrency = 8,
): Promise<Uint8Array[]> {
  const out: Uint8Array[] = new Array(files.length);
  let next = 0;
  let done = 0;
  async function worker(): Promise<void> {
    while (next < files.length) {
      const i = next++;
      out[i] = await cache.load(files[i]!, size);
      done++;
      onProgress?.(done);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, files.length) }, worker));
  return out;
}
