/**
 * The seed's two base checkpoints, built in plumage from their exact configurations (random init), have Hugging
 * Face's parameter counts: 87,918,816 for microsoft/swinv2-base-patch4-window16-256 (1000 classes) and 102,557,713
 * for microsoft/beit-base-patch16-224-pt22k-ft22k (21841 classes) — the published 87.9M / 102.6M, and what the
 * HF-structured PyTorch reference (bench/pytorch/hf_vit.py --params) counts. Each is also derived here term by term
 * from the HF module definitions.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as tfl from '@tensorflow/tfjs-layers';
import { beitPresets, buildBeit } from '../../src/models/beit.js';
import { buildSwinv2, swinv2Presets } from '../../src/models/swinv2.js';
import { selectBackend } from '../../src/runtime/backend.js';

const count = (m: tfl.LayersModel) => m.trainableWeights.reduce((a, w) => a + (w.shape as number[]).reduce((p, q) => p * q, 1), 0);

function swinv2Formula(c: typeof swinv2Presets['swinv2-base-w16-256']['config']): number {
  let n = c.embed_dim * c.num_channels * c.patch_size ** 2 + c.embed_dim + 2 * c.embed_dim; // patch conv + embeddings.norm
  let d = c.embed_dim;
  c.depths.forEach((depth, s) => {
    const h = c.num_heads[s]!;
    const block = h + (2 * 512 + 512 + 512 * h) + (d * d + d) + d * d + (d * d + d) + (d * d + d) + 2 * d + (d * 4 * d + 4 * d) + (4 * d * d + d) + 2 * d;
    n += depth * block;
    if (s < c.depths.length - 1) {
      n += 4 * d * 2 * d + 2 * 2 * d; // patch merging: reduction (no bias) + norm
      d *= 2;
    }
  });
  return n + 2 * d + d * c.num_labels + c.num_labels; // final layernorm + classifier
}

function beitFormula(c: typeof beitPresets['beit-base-p16-224-22k']['config']): number {
  const C = c.hidden_size;
  const g = c.image_size / c.patch_size;
  const table = ((2 * g - 1) ** 2 + 3) * c.num_attention_heads;
  const layer = 2 * C + (C * C + C) + C * C + (C * C + C) + (C * C + C) + (c.use_relative_position_bias ? table : 0) + (c.layer_scale_init_value > 0 ? 2 * C : 0) + 2 * C + (C * c.intermediate_size + c.intermediate_size) + (c.intermediate_size * C + C);
  return C * c.num_channels * c.patch_size ** 2 + C + C + c.num_hidden_layers * layer + 2 * C + C * c.num_labels + c.num_labels;
}

test('base SwinV2 (swinv2-base-patch4-window16-256) and BEiT (beit-base-patch16-224-pt22k-ft22k) have HF\'s parameter counts', { timeout: 300_000 }, async () => {
  await selectBackend('cpu', () => {});
  const sc = swinv2Presets['swinv2-base-w16-256'].config;
  const swin = buildSwinv2(sc);
  assert.equal(swinv2Formula(sc), 87_918_816);
  assert.equal(count(swin), 87_918_816);
  swin.dispose();
  const bc = beitPresets['beit-base-p16-224-22k'].config;
  const beit = buildBeit(bc);
  assert.equal(beitFormula(bc), 102_557_713);
  assert.equal(count(beit), 102_557_713);
  beit.dispose();
});
