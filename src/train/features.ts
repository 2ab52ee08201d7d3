/**
 * Frozen-backbone features (pooled embeddings or block activations) for image views, cached on disk.
 *
 * Cache key: backbone id + cut point + input size + view (source, flip, crop) + SHA-1 of the image file's bytes.
 * Layout: <cacheRoot>/features/<backbone>/<cut>@<res>/<view>/{rows.f32,keys.txt}: rows.f32 holds float32 rows,
 * keys.txt one content hash per line (line i = row i). Appends write rows first, then keys; on open, rows beyond
 * the keys are cut off, so an interrupted run never leaves a misaligned store.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { decodeImage } from '../data/decode.js';
import { plumageCacheDir } from '../util/cache-dir.js';
import { FrozenForward } from '../weights/frozen-forward.js';
import { cutShape, type CutPoint, type FloatGraph } from '../weights/tflite-graph.js';

/** One view of an image: which file (64px 'lr' or its 256px 'hr' copy), optional horizontal flip and crop. */
export interface ViewSpec {
  source: 'lr' | 'hr';
  flip?: boolean;
  /** Fraction of the side kept by a square crop (e.g. 0.85); 1 or undefined = no crop. */
  crop?: number;
  /** Crop position: centre or a corner. */
  cropAt?: 'c' | 'tl' | 'tr' | 'bl' | 'br';
}

export function viewKey(v: ViewSpec): string {
  let k = v.source;
  if (v.crop && v.crop < 1) k += `.crop${Math.round(v.crop * 100)}${v.cropAt ?? 'c'}`;
  if (v.flip) k += '.flip';
  return k;
}

export function parseView(s: string): ViewSpec {
  const m = /^(lr|hr)(?:\.crop(\d+)(c|tl|tr|bl|br))?(\.flip)?$/.exec(s);
  if (!m) throw new Error(`bad view '${s}' (expected lr|hr[.cropNN(c|tl|tr|bl|br)][.flip], e.g. lr.flip, hr.crop85c)`);
  const v: ViewSpec = { source: m[1] as 'lr' | 'hr' };
  if (m[2]) {
    v.crop = Number(m[2]) / 100;
    v.cropAt = m[3] as ViewSpec['cropAt'];
  }
  if (m[4]) v.flip = true;
  return v;
}

export function cutKey(c: CutPoint): string {
  return typeof c === 'string' ? c : `block-${c.block}`;
}

/** An image to featurize: its 64px file and optional 256px copy. */
export interface FeatureImage {
  lr: string;
  hr?: string;
}

const hashMemo = new Map<string, string>();
export function fileHash(file: string): string {
  let h = hashMemo.get(file);
  if (!h) {
    h = crypto.createHash('sha1').update(fs.readFileSync(file)).digest('hex');
    hashMemo.set(file, h);
  }
  return h;
}

class Store {
  readonly dir: string;
  private readonly rowsFile: string;
  private readonly keysFile: string;
  readonly index = new Map<string, number>();
  count = 0;
  constructor(
    dir: string,
    readonly dim: number,
  ) {
    this.dir = dir;
    this.rowsFile = path.join(dir, 'rows.f32');
    this.keysFile = path.join(dir, 'keys.txt');
    fs.mkdirSync(dir, { recursive: true });
    const keys = fs.existsSync(this.keysFile) ? fs.readFileSync(this.keysFile, 'utf8').split('\n').filter(Boolean) : [];
    const rowBytes = dim * 4;
    const have = fs.existsSync(this.rowsFile) ? Math.floor(fs.statSync(this.rowsFile).size / rowBytes) : 0;
    const n = Math.min(keys.length, have);
    if (keys.length !== n) fs.writeFileSync(this.keysFile, keys.slice(0, n).map((k) => k + '\n').join(''));
    if (fs.existsSync(this.rowsFile) && fs.statSync(this.rowsFile).size !== n * rowBytes) fs.truncateSync(this.rowsFile, n * rowBytes);
    keys.slice(0, n).forEach((k, i) => this.index.set(k, i));
    this.count = n;
  }
  append(keys: string[], rows: Float32Array): void {
    fs.appendFileSync(this.rowsFile, new Uint8Array(rows.buffer, rows.byteOffset, rows.byteLength));
    fs.appendFileSync(this.keysFile, keys.map((k) => k + '\n').join(''));
    keys.forEach((k, i) => this.index.set(k, this.count + i));
    this.count += keys.length;
  }
  /** Reads rows for the given keys (all must be present). */
  read(keys: string[]): Float32Array {
    const out = new Float32Array(keys.length * this.dim);
    const fd = fs.openSync(this.rowsFile, 'r');
    try {
      const buf = Buffer.alloc(this.dim * 4);
      keys.forEach((k, i) => {
        const r = this.index.get(k);
        if (r === undefined) throw new Error(`feature store ${this.dir}: missing key ${k}`);
        fs.readSync(fd, buf, 0, buf.length, r * this.dim * 4);
        out.set(new Float32Array(buf.buffer, buf.byteOffset, this.dim), i * this.dim);
      });
    } finally {
      fs.closeSync(fd);
    }
    return out;
  }
}

export interface FeatureOptions {
  backboneId: string;
  graph: FloatGraph;
  inputSize: number;
  cut?: CutPoint;
  /** Cache root (default: plumage's cache dir); features go under <root>/features. */
  cacheRoot?: string;
  batchSize?: number;
  /** Further cut points (before `cut`) to fill in their caches from the same forward pass. */
  alsoCache?: CutPoint[];
  onProgress?: (done: number, total: number) => void;
}

export interface FeatureResult {
  features: Float32Array;
  dim: number;
  /** Feature shape per image ([c] for the embedding, [h,w,c] for block outputs). */
  shape: number[];
  computed: number;
  cached: number;
}

function cropBox(v: ViewSpec): [number, number, number, number] | null {
  const f = v.crop;
  if (!f || f >= 1) return null;
  const m = 1 - f;
  switch (v.cropAt ?? 'c') {
    case 'c':
      return [m / 2, m / 2, m / 2 + f, m / 2 + f];
    case 'tl':
      return [0, 0, f, f];
    case 'tr':
      return [0, m, f, 1];
    case 'bl':
      return [m, 0, 1, f];
    case 'br':
      return [m, m, 1, 1];
  }
}

/**
 * Preprocesses a batch of decoded uint8 images (already at inputSize) for a view: [0,1] floats, crop, flip.
 */
export function viewBatch(pixels: Uint8Array[], size: number, v: ViewSpec): tf.Tensor4D {
  return tf.tidy(() => {
    const flat = new Float32Array(pixels.length * size * size * 3);
    pixels.forEach((p, i) => {
      const o = i * size * size * 3;
      for (let j = 0; j < p.length; j++) flat[o + j] = p[j]! / 255;
    });
    let x = tf.tensor4d(flat, [pixels.length, size, size, 3]);
    const box = cropBox(v);
    if (box) {
      const boxes = tf.tensor2d(Array.from({ length: pixels.length }, () => box));
      x = tf.image.cropAndResize(x, boxes, tf.range(0, pixels.length, 1, 'int32') as tf.Tensor1D, [size, size]);
    }
    if (v.flip) x = tf.reverse(x, 2);
    return x;
  });
}

/** Decodes one view source of an image at `size` (Lanczos-3 resize, shared with the data pipeline). */
export async function decodeView(img: FeatureImage, v: ViewSpec, size: number): Promise<Uint8Array> {
  const file = v.source === 'hr' ? img.hr : img.lr;
  if (!file) throw new Error(`view '${viewKey(v)}' needs a 256px copy, but ${img.lr} has none`);
  return decodeImage(fs.readFileSync(file), size, file);
}

/**
 * Returns frozen-backbone features for every image in one view, computing (and caching) the missing ones.
 */
export async function computeFeatures(images: FeatureImage[], view: ViewSpec, opts: FeatureOptions): Promise<FeatureResult> {
  const cut = opts.cut ?? 'embedding';
  const shape = cutShape(opts.graph, cut, opts.inputSize);
  const dim = shape.reduce((a, b) => a * b, 1);
  const root = opts.cacheRoot ?? plumageCacheDir();
  const store = new Store(path.join(root, 'features', opts.backboneId, `${cutKey(cut)}@${opts.inputSize}`, viewKey(view)), dim);
  const keys = images.map((im) => {
    const f = view.source === 'hr' ? im.hr : im.lr;
    if (!f) throw new Error(`view '${viewKey(view)}' needs a 256px copy, but ${im.lr} has none`);
    return fileHash(f);
  });
  const missing: number[] = [];
  const seen = new Set<string>();
  keys.forEach((k, i) => {
    if (!store.index.has(k) && !seen.has(k)) {
      missing.push(i);
      seen.add(k);
    }
  });
  if (missing.length) {
    const also = opts.alsoCache ?? [];
    const alsoStores = also.map((c) => {
      const sh = cutShape(opts.graph, c, opts.inputSize);
      return new Store(path.join(root, 'features', opts.backboneId, `${cutKey(c)}@${opts.inputSize}`, viewKey(view)), sh.reduce((a, b) => a * b, 1));
    });
    const fwd = new FrozenForward(opts.graph, { to: cut, also });
    const bs = opts.batchSize ?? 32;
    try {
      const load = (start: number) => Promise.all(missing.slice(start, start + bs).map((i) => decodeView(images[i]!, view, opts.inputSize)));
      let next = load(0);
      for (let s = 0; s < missing.length; s += bs) {
        const px = await next;
        if (s + bs < missing.length) next = load(s + bs); // decode the next batch while this one runs
        const x = viewBatch(px, opts.inputSize, view);
        const ys = fwd.applyMulti(x);
        const bkeys = missing.slice(s, s + bs).map((i) => keys[i]!);
        store.append(bkeys, (await ys[0]!.data()) as Float32Array);
        for (let k = 0; k < alsoStores.length; k++) {
          const st = alsoStores[k]!;
          const fresh = bkeys.map((key, j) => [key, j] as const).filter(([key]) => !st.index.has(key));
          if (fresh.length === 0) continue;
          const all = (await ys[k + 1]!.data()) as Float32Array;
          const rows = new Float32Array(fresh.length * st.dim);
          fresh.forEach(([, j], r) => rows.set(all.subarray(j * st.dim, (j + 1) * st.dim), r * st.dim));
          st.append(fresh.map(([key]) => key), rows);
        }
        tf.dispose([x, ...ys]);
        opts.onProgress?.(Math.min(s + bs, missing.length), missing.length);
      }
    } finally {
      fwd.dispose();
    }
  }
  return { features: store.read(keys), dim, shape, computed: missing.length, cached: images.length - missing.length };
}
