/**
 * Loading Hugging Face (PyTorch) checkpoints into tfjs LayersModels by name.
 *
 * The rule, applied to every model weight (no per-checkpoint tables):
 *   1. Take the variable's unscoped name `<layer name>/<weight name>` and replace `/` with `.`.
 *      Layers are named after the HF module path (e.g. `swinv2.encoder.layers.0.blocks.1`) and custom layers name
 *      their weights after the sub-module path (e.g. `attention.self.query.kernel`).
 *   2. The last segment is translated: `kernel` -> `weight`, `gamma` -> `weight`, `beta` -> `bias`; anything else
 *      (`bias`, `logit_scale`, `cls_token`, `lambda_1`, ...) is kept.
 *   3. Layouts: a rank-2 `kernel` is a PyTorch Linear weight [out, in] -> tfjs [in, out] (transpose);
 *      a rank-4 `kernel` is a PyTorch Conv2d weight OIHW -> tfjs HWIO. Everything else is copied as is.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { SafetensorsError, SafetensorsFile, type Float32Tensor } from './safetensors.js';
import { safetensorsSource, type TensorSource } from './tensor-source.js';

interface NamedVariable {
  originalName: string;
  shape: number[];
  read(): tf.Tensor;
  write(t: tf.Tensor): void;
}

/** Maps a tfjs variable name (`layer/weight`, any `_N` uniquifying suffix already stripped) to its HF state_dict key. */
export function hfKeyForVariable(originalName: string): string {
  const parts = originalName.split('/').join('.').split('.');
  const last = parts[parts.length - 1]!;
  parts[parts.length - 1] = last === 'kernel' || last === 'gamma' ? 'weight' : last === 'beta' ? 'bias' : last;
  return parts.join('.');
}

function isKernel(originalName: string): boolean {
  return /(^|[./])kernel$/.test(originalName);
}

/** The HF tensor shape that corresponds to a tfjs variable shape. */
export function hfShapeFor(originalName: string, tfShape: number[]): number[] {
  if (!isKernel(originalName)) return [...tfShape];
  if (tfShape.length === 2) return [tfShape[1]!, tfShape[0]!];
  if (tfShape.length === 4) return [tfShape[3]!, tfShape[2]!, tfShape[0]!, tfShape[1]!];
  return [...tfShape];
}

/** Converts an HF tensor into the tfjs layout of the named variable. */
export function fromHfLayout(originalName: string, t: Float32Tensor): tf.Tensor {
  return tf.tidy(() => {
    const x = tf.tensor(t.data, t.shape, 'float32');
    if (!isKernel(originalName)) return x;
    if (t.shape.length === 2) return tf.transpose(x, [1, 0]);
    if (t.shape.length === 4) return tf.transpose(x, [2, 3, 1, 0]);
    return x;
  });
}

/** Converts a tfjs variable value into the HF layout. */
export function toHfLayout(originalName: string, x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    if (!isKernel(originalName)) return x.clone();
    if (x.rank === 2) return tf.transpose(x, [1, 0]);
    if (x.rank === 4) return tf.transpose(x, [3, 2, 0, 1]);
    return x.clone();
  });
}

function modelVariables(model: tfl.LayersModel): NamedVariable[] {
  return model.weights as unknown as NamedVariable[];
}

export interface LoadHfOptions {
  /** Model variables whose HF key matches are left as initialised and not required in the file (e.g. a replaced classifier). */
  skip?: (hfKey: string) => boolean;
  /** Fail when the file holds tensors the model does not use (default true). */
  strict?: boolean;
  /** Checkpoint keys that are dropped without counting as unused (e.g. buffers the model derives from its config). */
  ignore?: (hfKey: string) => boolean;
}

/** Buffers older HF checkpoints saved that plumage derives from the config (SwinV2/BEiT position indices and tables). */
export const DERIVED_BUFFER = (k: string) => /\.(relative_position_index|relative_coords_table)$/.test(k);

export interface LoadHfReport {
  loaded: string[];
  skipped: string[];
  /** Keys in the file that no model weight maps to (only non-empty when strict is false). */
  unused: string[];
}

/**
 * Loads an HF safetensors checkpoint into `model` by name. Reads tensors one at a time from the file handle.
 * Throws SafetensorsError naming the key when a weight is missing, a shape does not match, or (strict) the file has
 * keys the model does not use.
 */
export async function loadHfSafetensors(model: tfl.LayersModel, source: string | SafetensorsFile | TensorSource, opts: LoadHfOptions = {}): Promise<LoadHfReport> {
  const file: TensorSource = typeof source === 'string' ? safetensorsSource(await SafetensorsFile.open(source)) : source instanceof SafetensorsFile ? safetensorsSource(source) : source;
  try {
    const strict = opts.strict ?? true;
    const used = new Set<string>();
    const report: LoadHfReport = { loaded: [], skipped: [], unused: [] };
    const plan: { v: NamedVariable; key: string }[] = [];
    const missing: string[] = [];
    const seen = new Map<string, string>();
    for (const v of modelVariables(model)) {
      const key = hfKeyForVariable(v.originalName);
      const dup = seen.get(key);
      if (dup !== undefined) throw new SafetensorsError(`model weights '${dup}' and '${v.originalName}' both map to HF key '${key}'`);
      seen.set(key, v.originalName);
      if (opts.skip?.(key)) {
        report.skipped.push(key);
        used.add(key);
        continue;
      }
      const have = file.shapeOf(key);
      if (!have) {
        missing.push(`${key} (model weight ${v.originalName} [${v.shape.join(', ')}])`);
        continue;
      }
      const want = hfShapeFor(v.originalName, v.shape);
      if (want.length !== have.length || want.some((d, i) => d !== have[i])) {
        throw new SafetensorsError(
          `${file.path}: shape mismatch for '${key}': checkpoint has [${have.join(', ')}], model weight ${v.originalName} needs [${want.join(', ')}] (HF layout)`,
        );
      }
      plan.push({ v, key });
    }
    if (missing.length) {
      throw new SafetensorsError(`${file.path}: ${missing.length} model weight(s) not found in the checkpoint: ${missing.slice(0, 10).join('; ')}${missing.length > 10 ? '; ...' : ''}`);
    }
    for (const { key } of plan) used.add(key);
    const unused = file.keys().filter((k) => !used.has(k) && !opts.ignore?.(k));
    if (unused.length && strict) {
      throw new SafetensorsError(`${file.path}: ${unused.length} checkpoint tensor(s) do not match any model weight: ${unused.slice(0, 10).join(', ')}${unused.length > 10 ? ', ...' : ''}`);
    }
    report.unused = unused;
    for (const { v, key } of plan) {
      const t = fromHfLayout(v.originalName, await file.read(key));
      v.write(t);
      t.dispose();
      report.loaded.push(key);
    }
    return report;
  } finally {
    if (typeof source === 'string') await file.close();
  }
}

/** Exports the model's weights under HF keys and layouts (the inverse of loadHfSafetensors). */
export function exportHfState(model: tfl.LayersModel): Map<string, Float32Tensor> {
  const out = new Map<string, Float32Tensor>();
  for (const v of modelVariables(model)) {
    const t = toHfLayout(v.originalName, v.read());
    out.set(hfKeyForVariable(v.originalName), { shape: t.shape, data: t.dataSync() as Float32Array });
    t.dispose();
  }
  return out;
}
