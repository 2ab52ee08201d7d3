import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { decodeImage } from '../../src/data/decode.js';
import { Predictor, softmaxRows } from '../../src/predict/predictor.js';
import { decodeSizeFor, toBatch } from '../../src/augment/model-input.js';
import { selectBackend } from '../../src/runtime/backend.js';
import { getArchitecture } from '../../src/models/index.js';
import { saveCheckpoint } from '../../src/runs/checkpoint.js';
import { runCli } from '../helpers/cli.js';
import { mini, models, readCsvRows, tempDir, trainMobileNetFull, trainResnetTiny, valImages } from './fixtures.js';

const helper = path.join(import.meta.dirname, 'helpers', 'stock-tfjs-predict.mjs');

/** Preprocessed NHWC batch of the mini val images, as every plumage runtime sees them. */
async function valBatch(inputSize: number): Promise<Float32Array> {
  const px = await Promise.all(valImages().map(async (v) => decodeImage(fs.readFileSync(v.path), decodeSizeFor(inputSize), v.path)));
  return toBatch(px, decodeSizeFor(inputSize), inputSize);
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function argmax(p: ArrayLike<number>, c: number): number[] {
  return Array.from({ length: p.length / c }, (_, r) => {
    let best = 0;
    for (let j = 1; j < c; j++) if (p[r * c + j]! > p[r * c + best]!) best = j;
    return best;
  });
}

/** Exports a run both ways with the CLI and checks both exports against `plumage predict` on every mini val image. */
async function checkRun(run: string, work: string, name: string): Promise<void> {
  for (const format of ['tfjs', 'onnx']) {
    const r = runCli(['export', '--run', run, '--format', format, '--models-dir', models.path]);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
  }
  const tfjsDir = path.join(run, 'export', 'tfjs');
  const topology = fs.readFileSync(path.join(tfjsDir, 'model.json'), 'utf8');
  assert.doesNotMatch(topology, /Plumage|SeededDropout/, 'no plumage layer class in the exported topology');

  // `plumage predict` (tfjs runtime, the torch/wasm backend) on the val folder: the reference probabilities.
  const probsFile = path.join(work, `${name}-probs.csv`);
  const p = runCli(['predict', '--run', run, '--data', path.join(mini.path, 'val'), '--runtime', 'tfjs', '--output', path.join(work, `${name}-pred.csv`), '--probs', probsFile, '--models-dir', models.path]);
  assert.equal(p.code, 0, p.stderr.slice(-2000));
  const byId = new Map(readCsvRows(probsFile).map((row) => [row.id!, row]));
  const meta = JSON.parse(fs.readFileSync(path.join(tfjsDir, 'export.json'), 'utf8')) as { classes: string[]; inputSize: number };
  const c = meta.classes.length;
  const ref = Float32Array.from(valImages().flatMap((v) => meta.classes.map((k) => Number(byId.get(path.basename(v.path))![k]))));

  // Stock @tensorflow/tfjs in its own process, model.json over HTTP.
  const x = await valBatch(meta.inputSize);
  const n = x.length / (meta.inputSize * meta.inputSize * 3);
  const inFile = path.join(work, `${name}-x.f32`);
  const outFile = path.join(work, `${name}-y.f32`);
  fs.writeFileSync(inFile, new Uint8Array(x.buffer));
  const info = JSON.parse(execFileSync(process.execPath, [helper, tfjsDir, inFile, String(n), outFile], { encoding: 'utf8' })) as { classes: number; inputSize: number; layers: string[] };
  assert.equal(info.classes, c, 'class names travel in userDefinedMetadata');
  const buf = fs.readFileSync(outFile);
  const stock = new Float32Array(buf.buffer, buf.byteOffset, buf.length / 4);
  // The predict CSV rounds to 6 decimals (<= 5e-7), inside the 1e-5 bound.
  const dTfjs = maxAbsDiff(stock, ref);
  assert.ok(dTfjs <= 1e-5, `stock tfjs vs plumage predict: max abs prob difference ${dTfjs}`);

  // ONNX Runtime on the exported graph vs the tfjs model: logits and top-1 on every image.
  const tf = await Predictor.load(run, { runtime: 'tfjs', weights: { modelsDir: models.path } });
  const ort = await Predictor.load(run, { runtime: 'onnx', weights: { modelsDir: models.path } });
  assert.equal(ort.runtime, 'onnx');
  const lt = await tf.logits(x, n);
  const lo = await ort.logits(x, n);
  const dLogit = maxAbsDiff(lt, lo);
  assert.ok(dLogit <= 1e-3, `ONNX Runtime vs tfjs: max abs logit difference ${dLogit}`);
  assert.deepEqual(argmax(lo, c), argmax(lt, c), 'same top-1 on every image');
  assert.ok(maxAbsDiff(softmaxRows(lo, c), softmaxRows(lt, c)) <= 1e-4);
  tf.dispose();
  ort.dispose();
  console.log(`${name}: stock tfjs max |dprob| ${dTfjs.toExponential(2)}, ORT max |dlogit| ${dLogit.toExponential(2)} on ${n} images`);
}

describe('export on birds25-mini', { skip: mini.skip ?? models.skip, timeout: 600_000 }, () => {
  let work = '';
  before(async () => {
    work = tempDir('export');
    await selectBackend('auto', () => {});
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  test('resnet-tiny: stock tfjs and ONNX Runtime predict what plumage predicts', async () => {
    await checkRun(trainResnetTiny(work), work, 'resnet');
  });

  test('fine-tuned MobileNetV2 (--recipe full): stock tfjs and ONNX Runtime predict what plumage predicts', async () => {
    await checkRun(trainMobileNetFull(work), work, 'mnv2');
  });

  test('predict --runtime onnx vs tfjs from the CLI: same top-1, probabilities within 1e-4', () => {
    const run = path.join(work, 'tiny');
    const out: Record<string, Record<string, string>[]> = {};
    for (const rt of ['tfjs', 'onnx', 'auto']) {
      const file = path.join(work, `rt-${rt}.csv`);
      const r = runCli(['predict', '--run', run, '--data', path.join(mini.path, 'val.csv'), '--runtime', rt, '--output', path.join(work, `rt-${rt}-pred.csv`), '--probs', file, '--submission', path.join(work, `rt-${rt}-sub.csv`)]);
      assert.equal(r.code, 0, r.stderr.slice(-2000));
      assert.match(r.stderr, new RegExp(`run\\(s\\) on ${rt === 'auto' ? 'onnx' : rt}`), 'auto picks ONNX Runtime where it loads');
      out[rt] = readCsvRows(file);
    }
    const classes = Object.keys(out.tfjs![0]!).filter((k) => k !== 'id');
    for (const rt of ['onnx', 'auto']) {
      out[rt]!.forEach((row, i) => {
        const ref = out.tfjs![i]!;
        assert.equal(row.id, ref.id);
        const a = classes.map((k) => Number(ref[k]));
        const b = classes.map((k) => Number(row[k]));
        assert.equal(argmax(b, classes.length)[0], argmax(a, classes.length)[0], `${row.id}: same top-1`);
        assert.ok(maxAbsDiff(a, b) <= 1e-4, `${row.id}: probabilities within 1e-4`);
      });
    }
  });

  test('transformers: tfjs refuses them by name (nothing written); ONNX exports them', async () => {
    const run = path.join(work, 'swin');
    const model = await getArchitecture('swinv2-small-p2w8').build({ numClasses: 3, inputSize: 16 });
    await saveCheckpoint(path.join(run, 'weights', 'best.ckpt'), model, { model: 'swinv2-small-p2w8', numClasses: 3, inputSize: 16, classes: ['a', 'b', 'c'] });
    model.dispose();
    const t = runCli(['export', '--run', run, '--format', 'tfjs']);
    assert.equal(t.code, 2, t.stderr);
    assert.match(t.stderr, /architecture 'swinv2-small-p2w8' cannot be exported: its layers PlumagePixelNormalize, PlumagePatchEmbed/);
    assert.ok(!fs.existsSync(path.join(run, 'export', 'tfjs', 'model.json')));
    const o = runCli(['export', '--run', run, '--format', 'onnx']);
    assert.equal(o.code, 0, o.stderr);
    assert.ok(fs.existsSync(path.join(run, 'export', 'onnx', 'model.onnx')));
  });
});
