import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ort from 'onnxruntime-node';
import { exportMetadata, type ExportMetadata } from '../../src/export/metadata.js';
import { checkOnnxExportable, toOnnx } from '../../src/export/onnx.js';
import { type BeitConfig, beitPresets, buildBeit } from '../../src/models/beit.js';
import { getArchitecture } from '../../src/models/index.js';
import { UserError } from '../../src/util/errors.js';

/** Max abs logit difference between tfjs and ONNX Runtime on the model's ONNX export. */
async function onnxVsTfjs(model: tfl.LayersModel, size: number, classes: number): Promise<number> {
  // Random position-bias tables, layer scales and tokens: the zero/constant inits would hide layout mistakes.
  model.weights.forEach((w, i) => {
    if (/table|lambda|position|cls_token/.test(w.originalName)) w.write(tf.randomUniform(w.shape as number[], -0.3, 0.3, 'float32', i));
  });
  const meta = { ...exportMetadata('onnx', { model: model.name, classes: Array.from({ length: classes }, (_, i) => `c${i}`), inputSize: size }, import.meta.filename), checkpoint: 'none' } as ExportMetadata;
  const session = await ort.InferenceSession.create(toOnnx(model, meta));
  const n = 3;
  const x = new Float32Array(n * size * size * 3).map((_, i) => ((i * 7919) % 1000) / 1000);
  const ref = (model.predict(tf.tensor4d(x, [n, size, size, 3])) as tf.Tensor).dataSync();
  const out = (await session.run({ image: new ort.Tensor('float32', x, [n, size, size, 3]) })).logits!.data as Float32Array;
  let m = 0;
  for (let i = 0; i < ref.length; i++) m = Math.max(m, Math.abs(ref[i]! - out[i]!));
  return m;
}

test('BEiT exports to ONNX: the preset (per-layer relative bias, layer scale, mean pooling) and the shared-bias / absolute-position / CLS-pooling variant', async () => {
  await tf.setBackend('cpu');
  const preset = getArchitecture('beit-small-p8');
  const a = await preset.build({ numClasses: 4, inputSize: 32 });
  const da = await onnxVsTfjs(a, 32, 4);
  assert.ok(da < 1e-4, `beit-small-p8: max abs logit difference ${da}`);
  a.dispose();
  const cfg: BeitConfig = {
    ...beitPresets['beit-small-p8'].config,
    hidden_size: 48, num_hidden_layers: 2, num_attention_heads: 4, intermediate_size: 96, use_absolute_position_embeddings: true,
    use_relative_position_bias: false, use_shared_relative_position_bias: true, layer_scale_init_value: 0, use_mean_pooling: false,
  };
  const b = buildBeit(cfg, { numClasses: 3, inputSize: 24, normalize: 'imagenet' });
  const db = await onnxVsTfjs(b, 24, 3);
  assert.ok(db < 1e-4, `BEiT variant: max abs logit difference ${db}`);
  b.dispose();
});

test('SwinV2 exports to ONNX: shifted windows with masks, padded grids, odd patch merging', async () => {
  await tf.setBackend('cpu');
  for (const size of [32, 36]) {
    const m = await getArchitecture('swinv2-small-p2w8').build({ numClasses: 3, inputSize: size });
    // Non-default logit scales and position-bias MLPs.
    m.weights.forEach((w, i) => {
      if (/logit_scale|continuous/.test(w.originalName)) w.write(tf.randomUniform(w.shape as number[], -0.5, 1.5, 'float32', i));
    });
    const d = await onnxVsTfjs(m, size, 3);
    assert.ok(d < 1e-4, `swinv2-small-p2w8 @${size}: max abs logit difference ${d}`);
    m.dispose();
  }
});

test('a layer with no ONNX translation is refused by architecture and class name', () => {
  const x = tfl.input({ shape: [8, 8, 3] });
  const y = tfl.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tfl.SymbolicTensor;
  const m = tfl.model({ inputs: x, outputs: tfl.layers.flatten().apply(y) as tfl.SymbolicTensor });
  assert.throws(() => checkOnnxExportable(m, 'pooled-net'), (e: Error) => e instanceof UserError && /'pooled-net' cannot be exported: its layers MaxPooling2D have no ONNX translation/.test(e.message));
});
