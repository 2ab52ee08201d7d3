/** Shared helpers for the golden parity tests (HF SwinV2 / BEiT reference vectors under ../shared/golden). */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readSafetensors, type Float32Tensor } from '../../src/weights/safetensors.js';
import { loadHfSafetensors } from '../../src/weights/safetensors-hf.js';

export const GOLDEN_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../shared/golden');

/** Case names with the given prefix, or null (with the reason) when the golden directory is absent. */
export function goldenCases(prefix: string): string[] | null {
  if (!existsSync(GOLDEN_DIR)) return null;
  return readdirSync(GOLDEN_DIR).filter((d) => d.startsWith(prefix) && existsSync(path.join(GOLDEN_DIR, d, 'config.json'))).sort();
}

export function maxAbsDiff(a: Float32Array | number[], b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < b.length; i++) m = Math.max(m, Math.abs((a[i] as number) - b[i]!));
  return m;
}

export interface CaseResult {
  errors: Map<string, { err: number; maxAbs: number }>;
  report: Awaited<ReturnType<typeof loadHfSafetensors>>;
}

/**
 * Builds the model with outputs 'all', loads model.safetensors strictly, runs input.safetensors (NCHW -> NHWC) and
 * returns max |ours - golden| for every stored output tensor.
 */
export async function runCase(
  caseName: string,
  build: (config: Record<string, unknown>) => tfl.LayersModel,
): Promise<CaseResult> {
  const dir = path.join(GOLDEN_DIR, caseName);
  const config = JSON.parse(readFileSync(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const model = build(config);
  const report = await loadHfSafetensors(model, path.join(dir, 'model.safetensors'));
  const input = (await readSafetensors(path.join(dir, 'input.safetensors'))).get('pixel_values')!;
  const golden = await readSafetensors(path.join(dir, 'outputs.safetensors'));
  const x = tf.transpose(tf.tensor(input.data, input.shape), [0, 2, 3, 1]);
  const outs = model.predict(x) as tf.Tensor[];
  const names = ['logits', 'pooler_output', 'last_hidden_state'];
  const ours = new Map<string, tf.Tensor>();
  outs.forEach((t, i) => ours.set(i < 3 ? names[i]! : `hidden_states.${i - 3}`, t));
  const errors = new Map<string, { err: number; maxAbs: number }>();
  for (const [key, g] of golden) {
    let mine: tf.Tensor | undefined;
    if (key.startsWith('reshaped_hidden_states.')) {
      // (B, H*W, C) -> (B, C, H, W)
      const h = ours.get(key.replace('reshaped_', ''));
      if (h) {
        const [b, c, hh, ww] = g.shape as [number, number, number, number];
        mine = tf.transpose(tf.reshape(h, [b, hh, ww, c]), [0, 3, 1, 2]);
      }
    } else mine = ours.get(key);
    if (!mine) throw new Error(`${caseName}: no output for golden tensor '${key}'`);
    if (mine.shape.join(',') !== g.shape.join(',')) throw new Error(`${caseName}: '${key}' shape [${mine.shape}] vs golden [${g.shape}]`);
    errors.set(key, { err: maxAbsDiff(mine.dataSync() as Float32Array, g.data), maxAbs: maxAbsDiff(new Float32Array(g.data.length), g.data) });
  }
  tf.dispose([x, ...outs]);
  model.dispose();
  return { errors, report };
}

export type { Float32Tensor };
