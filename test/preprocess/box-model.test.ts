import assert from 'node:assert/strict';
import { test } from 'node:test';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { type BoxSample, loadBoxModel, predictBoxes, saveBoxModel, trainBoxModel } from '../../src/preprocess/box-model.js';
import { type Box, iou } from '../../src/preprocess/boxes.js';
import { selectBackend } from '../../src/runtime/backend.js';
import { Rng } from '../../src/util/random.js';

await selectBackend('auto', () => {});

/** 32px images: a bright rectangle (the "bird") on a dark background; the target is that rectangle. */
function sample(rng: Rng): BoxSample {
  const rgb = new Uint8Array(32 * 32 * 3).fill(20);
  const w = 6 + rng.int(16);
  const h = 6 + rng.int(16);
  const x = rng.int(32 - w);
  const y = rng.int(32 - h);
  for (let r = y; r < y + h; r++) for (let c = x; c < x + w; c++) rgb.fill(230, (r * 32 + c) * 3, (r * 32 + c) * 3 + 3);
  return { rgb, box: { x, y, w, h } };
}

test('box model: learns boxes it was not shown better than the mean-box prior; same seed, same model', async () => {
  const rng = new Rng(3);
  const train = Array.from({ length: 192 }, () => sample(rng));
  const held = Array.from({ length: 48 }, () => sample(rng));
  const model = await trainBoxModel(train, { size: 32, epochs: 6, seed: 1 });
  const pred = predictBoxes(model, held.map((s) => s.rgb), 32);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const prior: Box = { x: mean(train.map((s) => s.box.x)), y: mean(train.map((s) => s.box.y)), w: mean(train.map((s) => s.box.w)), h: mean(train.map((s) => s.box.h)) };
  const modelIoU = mean(pred.map((p, i) => iou(p, held[i]!.box)));
  const priorIoU = mean(held.map((s) => iou(prior, s.box)));
  assert.ok(modelIoU > priorIoU + 0.15, `model ${modelIoU.toFixed(3)} vs prior ${priorIoU.toFixed(3)}`);
  for (const p of pred) assert.ok(p.x >= 0 && p.y >= 0 && p.x + p.w <= 32 + 1e-4 && p.y + p.h <= 32 + 1e-4);
  const again = predictBoxes(await trainBoxModel(train, { size: 32, epochs: 1, seed: 1 }), held.slice(0, 4).map((s) => s.rgb), 32);
  const again2 = predictBoxes(await trainBoxModel(train, { size: 32, epochs: 1, seed: 1 }), held.slice(0, 4).map((s) => s.rgb), 32);
  assert.deepEqual(again, again2);
  // saved and loaded: the same predictions
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-box-'));
  await saveBoxModel(model, dir);
  const loaded = await loadBoxModel(dir);
  assert.deepEqual(predictBoxes(loaded, held.map((s) => s.rgb), 32), pred);
  fs.rmSync(dir, { recursive: true, force: true });
});
