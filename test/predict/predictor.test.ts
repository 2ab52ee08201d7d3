import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { getArchitecture } from '../../src/models/index.js';
import { Predictor } from '../../src/predict/predictor.js';
import { selectBackend } from '../../src/runtime/backend.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { UserError } from '../../src/util/errors.js';
import { mini, tempDir, valImages } from './fixtures.js';

describe('Predictor (the API predict, serve and tests share)', { skip: mini.skip, timeout: 120_000 }, () => {
  let work = '';
  let run = '';
  const classes = Array.from({ length: 7 }, (_, i) => `species ${i}`);
  before(async () => {
    await selectBackend('auto', () => {});
    work = tempDir('predictor');
    run = path.join(work, 'r1');
    const model = await getArchitecture('resnet-tiny').build({ numClasses: classes.length, inputSize: 32, seed: 3 });
    await saveCheckpoint(path.join(run, 'weights', 'best.ckpt'), model, { model: 'resnet-tiny', numClasses: classes.length, inputSize: 32, classes });
    model.dispose();
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  for (const runtime of ['tfjs', 'onnx'] as const) {
    test(`${runtime}: encoded bytes, raw pixels and decoded pixels give the same top-k`, async () => {
      const p = await Predictor.load(run, { runtime });
      try {
        assert.deepEqual(p.info(), { id: 'r1', architecture: 'resnet-tiny', runtime, classes, inputSize: 32, decodeSize: 64, checkpoint: path.join(run, 'weights', 'best.ckpt') });
        const files = valImages().slice(0, 3).map((v) => fs.readFileSync(v.path));
        const res = await p.predict(files, { topK: 3 });
        assert.equal(res.probs.length, 3 * classes.length);
        for (const row of res.top) {
          assert.equal(row.length, 3);
          assert.ok(row[0]!.prob >= row[1]!.prob && row[1]!.prob >= row[2]!.prob);
          assert.equal(row[0]!.label, classes[row[0]!.index]);
        }
        const raw = await sharp(files[0]!).removeAlpha().raw().toBuffer({ resolveWithObject: true });
        const fromRaw = await p.predict([{ data: raw.data, width: raw.info.width, height: raw.info.height, channels: 3 }]);
        const decoded = await p.predictPixels([await p.decode(files[0]!)]);
        // Same pixels; only the batch differs (1 image vs 3: kernels may sum in another order).
        fromRaw.probs.forEach((v, i) => assert.ok(Math.abs(v - res.probs[i]!) < 1e-6, `class ${i}: ${v} vs ${res.probs[i]}`));
        assert.deepEqual(Array.from(decoded.probs), Array.from(fromRaw.probs));
        await assert.rejects(p.predict([files[0]!, Buffer.from('not an image')]), (e: Error) => e instanceof UserError && /^image 1: cannot decode image/.test(e.message));
      } finally {
        p.dispose();
      }
    });
  }

  test('auto uses the ONNX export written on first use, and re-exports when the checkpoint changes', async () => {
    const onnx = path.join(run, 'export', 'onnx');
    fs.rmSync(onnx, { recursive: true, force: true });
    const a = await Predictor.load(run, { runtime: 'auto' });
    assert.equal(a.runtime, 'onnx');
    a.dispose();
    const meta = JSON.parse(fs.readFileSync(path.join(onnx, 'export.json'), 'utf8')) as { checkpointSha256: string };
    const model = await getArchitecture('resnet-tiny').build({ numClasses: classes.length, inputSize: 32, seed: 4 });
    await saveCheckpoint(path.join(run, 'weights', 'best.ckpt'), model, { model: 'resnet-tiny', numClasses: classes.length, inputSize: 32, classes });
    model.dispose();
    const logs: string[] = [];
    const b = await Predictor.load(run, { runtime: 'auto', log: (m) => logs.push(m) });
    b.dispose();
    assert.ok(logs.some((l) => /exported .*model\.onnx/.test(l)), logs.join('\n'));
    assert.notEqual((JSON.parse(fs.readFileSync(path.join(onnx, 'export.json'), 'utf8')) as { checkpointSha256: string }).checkpointSha256, meta.checkpointSha256);
  });
});
