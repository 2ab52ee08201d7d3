/** safetensors reader/writer and the HF name-mapping loader, on files generated in a temp dir. */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { buildBeit, type BeitConfig } from '../../src/models/beit.js';
import {
  encodeSafetensors,
  halfToFloat,
  readSafetensors,
  SafetensorsError,
  SafetensorsFile,
  writeSafetensors,
} from '../../src/weights/safetensors.js';
import { exportHfState, hfKeyForVariable, hfShapeFor, loadHfSafetensors } from '../../src/weights/safetensors-hf.js';

let dir = '';
before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'plumage-st-'));
  await tf.setBackend('cpu');
});
after(() => rmSync(dir, { recursive: true, force: true }));

/** Builds a safetensors file by hand from raw per-tensor bytes. */
function rawFile(entries: { name: string; dtype: string; shape: number[]; bytes: Buffer }[], pad = true): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let off = 0;
  for (const e of entries) {
    header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + e.bytes.length] };
    off += e.bytes.length;
  }
  let json = JSON.stringify(header);
  while (pad && (8 + json.length) % 8) json += ' ';
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, Buffer.from(json), ...entries.map((e) => e.bytes)]);
}

test('F32 round trip through encode / lazy read, with metadata', async () => {
  const p = path.join(dir, 'a.safetensors');
  const a = { shape: [2, 3], data: Float32Array.from([1, -2, 3.5, 1e-8, -0, 65504]) };
  const b = { shape: [4], data: Float32Array.from([0.1, 0.2, 0.3, 0.4]) };
  await writeSafetensors(p, { 'x.weight': a, 'x.bias': b }, { format: 'pt', note: 'test' });
  const buf = readFileSync(p);
  assert.equal(Number(buf.readBigUInt64LE(0)) % 8, 0, 'header is padded to a multiple of 8');
  const f = await SafetensorsFile.open(p);
  assert.deepEqual(f.keys().sort(), ['x.bias', 'x.weight']);
  assert.equal(f.metadata['note'], 'test');
  assert.deepEqual(f.info('x.weight').shape, [2, 3]);
  const t = await f.read('x.weight');
  assert.deepEqual(t.shape, [2, 3]);
  assert.deepEqual(t.data, a.data);
  await assert.rejects(f.read('nope'), /no tensor named 'nope'/);
  await f.close();
  const all = await readSafetensors(p);
  assert.deepEqual(all.get('x.bias')!.data, b.data);
});

test('F16, BF16, F64 and integer dtypes convert to float32', async () => {
  const f16 = Buffer.alloc(8);
  [0x3c00, 0xc000, 0x0001, 0x7bff].forEach((h, i) => f16.writeUInt16LE(h, i * 2)); // 1, -2, 2^-24, 65504
  const bf16 = Buffer.alloc(6);
  const f32 = new Float32Array([1.5, -3.25, 1e30]);
  const u32 = new Uint32Array(f32.buffer);
  u32.forEach((u, i) => bf16.writeUInt16LE(u >>> 16, i * 2));
  const f64 = Buffer.alloc(16);
  f64.writeDoubleLE(Math.PI, 0);
  f64.writeDoubleLE(-1e-3, 8);
  const i64 = Buffer.alloc(16);
  i64.writeBigInt64LE(-5n, 0);
  i64.writeBigInt64LE(7n, 8);
  const p = path.join(dir, 'dtypes.safetensors');
  writeFileSync(p, rawFile([
    { name: 'h', dtype: 'F16', shape: [4], bytes: f16 },
    { name: 'bf', dtype: 'BF16', shape: [3], bytes: bf16 },
    { name: 'd', dtype: 'F64', shape: [2], bytes: f64 },
    { name: 'i', dtype: 'I64', shape: [2], bytes: i64 },
  ]));
  const all = await readSafetensors(p);
  assert.deepEqual([...all.get('h')!.data], [1, -2, 2 ** -24, 65504]);
  assert.deepEqual([...all.get('bf')!.data].slice(0, 2), [1.5, -3.25]);
  assert.ok(Math.abs(all.get('bf')!.data[2]! - 1e30) / 1e30 < 1e-2, 'bf16 keeps the top 16 bits');
  assert.equal(all.get('d')!.data[0], Math.fround(Math.PI));
  assert.deepEqual([...all.get('i')!.data], [-5, 7]);
  assert.equal(halfToFloat(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfToFloat(0x7e00)));
  assert.equal(halfToFloat(0x8000), -0);
});

test('lazy reads: open reads the header only, each tensor is read from the file on demand', async () => {
  const p = path.join(dir, 'big.safetensors');
  const n = 1 << 18;
  await writeSafetensors(p, { a_small: { shape: [1], data: Float32Array.from([42]) }, z_big: { shape: [n], data: new Float32Array(n).map((_, i) => i) } });
  const f = await SafetensorsFile.open(p);
  assert.equal(f.info('z_big').end - f.info('z_big').begin, n * 4);
  // Cut the file after opening: a tensor still on disk reads fine, the cut one fails -> data is read on demand.
  truncateSync(p, readFileSync(p).length - 1024);
  assert.equal((await f.read('a_small')).data[0], 42);
  await assert.rejects(f.read('z_big'), /truncated safetensors file while reading 'z_big'/);
  await f.close();
});

test('truncated files are rejected with a clear error', async () => {
  const good = encodeSafetensors({ w: { shape: [4, 4], data: new Float32Array(16).fill(1) } });
  const p1 = path.join(dir, 'trunc-data.safetensors');
  writeFileSync(p1, good.subarray(0, good.length - 5));
  await assert.rejects(SafetensorsFile.open(p1), (e: unknown) => e instanceof SafetensorsError && /truncated safetensors file: tensor 'w'/.test(e.message));
  const p2 = path.join(dir, 'trunc-header.safetensors');
  writeFileSync(p2, good.subarray(0, 20));
  await assert.rejects(SafetensorsFile.open(p2), /truncated safetensors file: header claims/);
  const p3 = path.join(dir, 'tiny.safetensors');
  writeFileSync(p3, Buffer.from([1, 2, 3]));
  await assert.rejects(SafetensorsFile.open(p3), /truncated safetensors file: 3 bytes/);
});

test('bad headers are rejected with a clear error', async () => {
  const cases: [string, Buffer, RegExp][] = [];
  const mk = (json: string) => {
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    return Buffer.concat([len, Buffer.from(json), Buffer.alloc(64)]);
  };
  cases.push(['json', mk('{"w": {"dtype": "F32", '), /bad safetensors header: not valid JSON/]);
  cases.push(['array', mk('[1,2]'), /expected a JSON object/]);
  cases.push(['dtype', mk('{"w": {"dtype": "Q4", "shape": [1], "data_offsets": [0, 4]}}'), /unsupported dtype "Q4"/]);
  cases.push(['shape', mk('{"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}}'), /invalid shape/]);
  cases.push(['offsets', mk('{"w": {"dtype": "F32", "shape": [2], "data_offsets": [8, 4]}}'), /invalid data_offsets/]);
  cases.push(['size', mk('{"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}'), /needs 12 bytes but data_offsets span 8/]);
  const huge = Buffer.alloc(16);
  huge.writeBigUInt64LE(1n << 40n);
  cases.push(['length', huge, /header length \d+ is implausibly large/]);
  for (const [name, buf, re] of cases) {
    const p = path.join(dir, `bad-${name}.safetensors`);
    writeFileSync(p, buf);
    await assert.rejects(SafetensorsFile.open(p), (e: unknown) => e instanceof SafetensorsError && re.test(e.message), name);
  }
});

test('HF name rule: tfjs variable names map to state_dict keys, kernels transpose by rule', () => {
  assert.equal(hfKeyForVariable('swinv2.encoder.layers.0.blocks.1/attention.self.query.kernel'), 'swinv2.encoder.layers.0.blocks.1.attention.self.query.weight');
  assert.equal(hfKeyForVariable('swinv2.embeddings.norm/gamma'), 'swinv2.embeddings.norm.weight');
  assert.equal(hfKeyForVariable('swinv2.embeddings.norm/beta'), 'swinv2.embeddings.norm.bias');
  assert.equal(hfKeyForVariable('beit.encoder.layer.3/lambda_1'), 'beit.encoder.layer.3.lambda_1');
  assert.equal(hfKeyForVariable('classifier/kernel'), 'classifier.weight');
  assert.deepEqual(hfShapeFor('classifier/kernel', [768, 10]), [10, 768]);
  assert.deepEqual(hfShapeFor('p.projection/kernel', [16, 16, 3, 768]), [768, 3, 16, 16]);
  assert.deepEqual(hfShapeFor('beit.embeddings/cls_token', [1, 1, 768]), [1, 1, 768]);
});

const tiny: BeitConfig = {
  image_size: 8, patch_size: 4, num_channels: 3, hidden_size: 4, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 8,
  hidden_act: 'gelu', layer_norm_eps: 1e-12, use_mask_token: false, use_absolute_position_embeddings: false, use_relative_position_bias: true,
  use_shared_relative_position_bias: false, layer_scale_init_value: 0.1, drop_path_rate: 0, use_mean_pooling: true, num_labels: 3,
};

test('loadHfSafetensors: export -> load round trip, Linear and conv layouts', async () => {
  const src = buildBeit(tiny);
  src.weights.forEach((w, i) => {
    const v = tf.randomNormal(w.shape as number[], 0, 1, 'float32', i);
    w.write(v);
    v.dispose();
  });
  const state = exportHfState(src);
  // PyTorch layouts: Linear [out, in], conv OIHW.
  assert.deepEqual(state.get('beit.encoder.layer.0.intermediate.dense.weight')!.shape, [8, 4]);
  assert.deepEqual(state.get('beit.embeddings.patch_embeddings.projection.weight')!.shape, [4, 3, 4, 4]);
  const k = src.getLayer('beit.embeddings.patch_embeddings.projection').getWeights()[0]!; // HWIO
  const hw = k.arraySync() as number[][][][];
  const oihw = state.get('beit.embeddings.patch_embeddings.projection.weight')!.data;
  // element [o=1, i=2, h=3, w=0]
  assert.equal(oihw[((1 * 3 + 2) * 4 + 3) * 4 + 0], hw[3]![0]![2]![1]);
  const p = path.join(dir, 'beit.safetensors');
  await writeSafetensors(p, state);
  const dst = buildBeit(tiny);
  const report = await loadHfSafetensors(dst, p);
  assert.equal(report.loaded.length, dst.weights.length);
  const x = tf.randomUniform([2, 8, 8, 3]);
  const d = tf.max(tf.abs(tf.sub(src.predict(x) as tf.Tensor, dst.predict(x) as tf.Tensor))).dataSync()[0]!;
  assert.equal(d, 0);
});

test('loadHfSafetensors: missing key, shape mismatch and unused keys are errors naming the key', async () => {
  const model = buildBeit(tiny);
  const state = exportHfState(model);
  const p = path.join(dir, 'x.safetensors');

  const missing = new Map(state);
  missing.delete('beit.encoder.layer.0.lambda_2');
  await writeSafetensors(p, missing);
  await assert.rejects(loadHfSafetensors(model, p), /not found in the checkpoint: beit\.encoder\.layer\.0\.lambda_2 \(model weight beit\.encoder\.layer\.0\/lambda_2 \[4\]\)/);

  const wrong = new Map(state);
  wrong.set('classifier.weight', { shape: [5, 4], data: new Float32Array(20) });
  await writeSafetensors(p, wrong);
  await assert.rejects(loadHfSafetensors(model, p), /shape mismatch for 'classifier\.weight': checkpoint has \[5, 4\], model weight classifier\/kernel needs \[3, 4\]/);
  // A replaced head: skip the classifier and load the backbone.
  const report = await loadHfSafetensors(model, p, { skip: (key) => key.startsWith('classifier.'), strict: false });
  assert.deepEqual(report.skipped.sort(), ['classifier.bias', 'classifier.weight']);

  const extra = new Map(state);
  extra.set('beit.encoder.layer.7.lambda_1', { shape: [4], data: new Float32Array(4) });
  await writeSafetensors(p, extra);
  await assert.rejects(loadHfSafetensors(model, p), /1 checkpoint tensor\(s\) do not match any model weight: beit\.encoder\.layer\.7\.lambda_1/);
  const lax = await loadHfSafetensors(model, p, { strict: false });
  assert.deepEqual(lax.unused, ['beit.encoder.layer.7.lambda_1']);
  void tfl;
});
