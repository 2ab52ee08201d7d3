/** Training-side behaviour of SwinV2 and BEiT: gradients, head replacement, lr decay, presets, serialisation. */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { beitPresets, buildBeit, type BeitConfig } from '../../src/models/beit.js';
import { getArchitecture } from '../../src/models/index.js';
import { buildSwinv2, swinv2Presets, type Swinv2Config } from '../../src/models/swinv2.js';
import { replaceClassifier } from '../../src/models/vit-layers/head.js';
import { layerDecayMultipliers, layerIds } from '../../src/models/vit-layers/lr-decay.js';
import { selectBackend } from '../../src/runtime/backend.js';
import { exportHfState, hfKeyForVariable } from '../../src/weights/safetensors-hf.js';

const tinySwin: Swinv2Config = {
  image_size: 20, patch_size: 2, num_channels: 3, embed_dim: 8, depths: [2, 2], num_heads: [2, 2], window_size: 4,
  pretrained_window_sizes: [0, 0], mlp_ratio: 2, qkv_bias: true, hidden_act: 'gelu', layer_norm_eps: 1e-5, drop_path_rate: 0,
  use_absolute_embeddings: false, num_labels: 3,
};

const tinyBeit: BeitConfig = {
  image_size: 16, patch_size: 4, num_channels: 3, hidden_size: 8, num_hidden_layers: 2, num_attention_heads: 2, intermediate_size: 16,
  hidden_act: 'gelu', layer_norm_eps: 1e-12, use_mask_token: false, use_absolute_position_embeddings: true, use_relative_position_bias: true,
  use_shared_relative_position_bias: true, layer_scale_init_value: 0.1, drop_path_rate: 0, use_mean_pooling: true, num_labels: 3,
};

/** Gives every weight a random value so that no gradient is zero by symmetry (e.g. zero-initialised bias tables). */
function randomise(model: tfl.LayersModel, seed: number): void {
  model.weights.forEach((w, i) => {
    const isScale = /logit_scale$/.test(w.originalName);
    const v = isScale ? tf.fill(w.shape as number[], Math.log(10)) : tf.randomNormal(w.shape as number[], 0, 0.3, 'float32', seed + i);
    w.write(v);
    v.dispose();
  });
}

function gradNorms(model: tfl.LayersModel, size: number, classes: number): Map<string, number> {
  const x = tf.randomUniform([2, size, size, 3], 0, 1, 'float32', 7);
  const y = tf.oneHot(tf.tensor1d([0, classes - 1], 'int32'), classes);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
  const out = new Map<string, number>();
  model.trainableWeights.forEach((w, i) => {
    const g = grads[vars[i]!.name]!;
    out.set(w.originalName, tf.tidy(() => tf.max(tf.abs(g)).dataSync()[0]!));
  });
  assert.ok(Number.isFinite(value.dataSync()[0]!));
  tf.dispose([x, y, value, ...Object.values(grads)]);
  return out;
}

for (const backend of ['cpu', 'wasm'] as const) {
  test(`SwinV2 (padding + shift + merging): every trainable variable gets a non-zero gradient on ${backend}`, async () => {
    await selectBackend(backend, () => {});
    const model = buildSwinv2(tinySwin, { normalize: 'imagenet' });
    randomise(model, 1);
    const norms = gradNorms(model, tinySwin.image_size, 3);
    assert.equal(norms.size, model.trainableWeights.length);
    assert.ok(norms.has('swinv2.encoder.layers.0.blocks.1/attention.self.continuous_position_bias_mlp.0.kernel'));
    for (const [name, n] of norms) assert.ok(n > 0 && Number.isFinite(n), `${backend}: gradient of ${name} is ${n}`);
    model.dispose();
  });

  test(`BEiT (shared + per-layer bias, abs pos, layer scale): every trainable variable gets a non-zero gradient on ${backend}`, async () => {
    await selectBackend(backend, () => {});
    const model = buildBeit(tinyBeit, { normalize: 'half' });
    randomise(model, 2);
    const norms = gradNorms(model, tinyBeit.image_size, 3);
    assert.equal(norms.size, model.trainableWeights.length);
    for (const k of ['beit.embeddings/cls_token', 'beit.embeddings/position_embeddings', 'beit.encoder.relative_position_bias/relative_position_bias_table', 'beit.encoder.layer.1/lambda_2']) {
      assert.ok(norms.has(k), `missing ${k}`);
    }
    for (const [name, n] of norms) assert.ok(n > 0 && Number.isFinite(n), `${backend}: gradient of ${name} is ${n}`);
    model.dispose();
  });
}

test('replaceClassifier keeps every backbone weight and gives N outputs', async () => {
  await selectBackend('cpu', () => {});
  for (const model of [buildSwinv2(tinySwin), buildBeit(tinyBeit)]) {
    randomise(model, 3);
    const before = exportHfState(model);
    const replaced = replaceClassifier(model, 7);
    const after = exportHfState(replaced);
    const x = tf.randomUniform([2, model.inputs[0]!.shape[1]!, model.inputs[0]!.shape[2]!, 3]);
    const out = replaced.predict(x) as tf.Tensor;
    assert.deepEqual(out.shape, [2, 7]);
    assert.deepEqual(after.get('classifier.weight')!.shape, [7, before.get('classifier.weight')!.shape[1]!]);
    let compared = 0;
    for (const [k, t] of before) {
      if (k.startsWith('classifier.')) continue;
      const a = after.get(k);
      assert.ok(a, `backbone weight ${k} missing after replacement`);
      assert.deepEqual(a.data, t.data, `backbone weight ${k} changed`);
      compared++;
    }
    assert.ok(compared > 10);
    tf.dispose([x, out]);
    replaced.dispose();
  }
});

test('layer-wise lr decay: classifier 1, blocks decay with depth, embeddings lowest', async () => {
  await selectBackend('cpu', () => {});
  const beit = buildBeit(tinyBeit);
  const names = beit.trainableWeights.map((w) => w.originalName);
  const mult = layerDecayMultipliers(beit, 0.5);
  const by = (n: string) => mult[names.indexOf(n)]!;
  assert.equal(layerIds(names).numLayers, 2);
  assert.equal(by('classifier/kernel'), 1);
  assert.equal(by('beit.pooler.layernorm/gamma'), 1);
  assert.equal(by('beit.encoder.layer.1/attention.attention.query.kernel'), 0.5);
  assert.equal(by('beit.encoder.layer.0/lambda_1'), 0.25);
  assert.equal(by('beit.embeddings/cls_token'), 0.125);
  assert.equal(by('beit.embeddings.patch_embeddings.projection/kernel'), 0.125);
  assert.equal(by('beit.encoder.relative_position_bias/relative_position_bias_table'), 0.125);

  const swin = buildSwinv2(tinySwin);
  const sNames = swin.trainableWeights.map((w) => w.originalName);
  const sMult = layerDecayMultipliers(swin, 0.5);
  const sBy = (n: string) => sMult[sNames.indexOf(n)]!;
  assert.equal(layerIds(sNames).numLayers, 4);
  assert.equal(sBy('classifier/kernel'), 1);
  assert.equal(sBy('swinv2.encoder.layers.1.blocks.1/output.dense.kernel'), 0.5);
  assert.equal(sBy('swinv2.encoder.layers.1.blocks.0/output.dense.kernel'), 0.25);
  assert.equal(sBy('swinv2.encoder.layers.0.downsample/reduction.kernel'), 0.125);
  assert.equal(sBy('swinv2.encoder.layers.0.blocks.0/output.dense.kernel'), 0.5 ** 4);
  assert.equal(sBy('swinv2.embeddings.norm/gamma'), 0.5 ** 5);
  beit.dispose();
  swin.dispose();
});

test('presets are registered and build 64px models with 25 logits', async () => {
  await selectBackend('cpu', () => {});
  for (const name of Object.keys({ ...swinv2Presets, ...beitPresets })) assert.ok(getArchitecture(name));
  for (const name of ['swinv2-small-p2w8', 'beit-small-p8']) {
    const arch = getArchitecture(name);
    assert.equal(arch.inputSize, 64);
    const model = await arch.build({ numClasses: 25 });
    const out = model.predict(tf.zeros([1, 64, 64, 3])) as tf.Tensor;
    assert.deepEqual(out.shape, [1, 25]);
    out.dispose();
    model.dispose();
  }
  assert.match(swinv2Presets['swinv2-base-w16-256'].hub.weightsUrl, /microsoft\/swinv2-base-patch4-window16-256\/resolve\/main\/model\.safetensors$/);
  assert.match(beitPresets['beit-base-p16-224-22k'].hub.configUrl, /microsoft\/beit-base-patch16-224-pt22k-ft22k\/resolve\/main\/config\.json$/);
});

test("pooling 'first-token' feeds last_hidden_state[:, 0] to the classifier", async () => {
  await selectBackend('cpu', () => {});
  const model = buildSwinv2(tinySwin, { pooling: 'first-token', outputs: 'all' });
  randomise(model, 4);
  const x = tf.randomUniform([2, 20, 20, 3]);
  const [logits, pooled, last] = model.predict(x) as tf.Tensor[];
  const first = tf.squeeze(tf.slice(last!, [0, 0, 0], [2, 1, -1]), [1]);
  assert.deepEqual(pooled!.dataSync(), first.dataSync());
  const head = model.getLayer('classifier');
  const manual = head.apply(first) as tf.Tensor;
  assert.ok(tf.max(tf.abs(tf.sub(manual, logits!))).dataSync()[0]! < 1e-6);
  model.dispose();
});

test('custom layers serialise: toJSON + fromConfig rebuilds the same graph', async () => {
  await selectBackend('cpu', () => {});
  for (const model of [buildSwinv2(tinySwin, { normalize: 'imagenet' }), buildBeit(tinyBeit, { normalize: 'half' })]) {
    randomise(model, 5);
    const json = model.toJSON(null, false) as unknown as tf.serialization.ConfigDict;
    const rebuilt = (await tfl.models.modelFromJSON({ modelTopology: json } as never)) as tfl.LayersModel;
    rebuilt.setWeights(model.getWeights());
    assert.deepEqual(rebuilt.weights.map((w) => hfKeyForVariable(w.originalName)), model.weights.map((w) => hfKeyForVariable(w.originalName)));
    const x = tf.randomUniform([2, model.inputs[0]!.shape[1]!, model.inputs[0]!.shape[2]!, 3]);
    const a = model.predict(x) as tf.Tensor;
    const b = rebuilt.predict(x) as tf.Tensor;
    assert.ok(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]! < 1e-6);
    model.dispose();
    rebuilt.dispose();
  }
});

test('both models fit a tiny fixed batch with plumage AdamW (loss falls by more than half in 80 steps)', async () => {
  await selectBackend('cpu', () => {});
  const { AdamW } = await import('../../src/train/adamw.js');
  // The builders' default initialisation is unseeded; about one tiny SwinV2 in 20 stalls at its start loss (measured: 1 of
  // 19 fresh inits). A broken gradient or optimizer fails every init, so each model gets up to three fresh ones.
  const fit = (model: tfl.LayersModel, size: number): number[] => {
    const x = tf.randomUniform([6, size, size, 3], 0, 1, 'float32', 11);
    const y = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2], 'int32'), 3);
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    const opt = new AdamW(vars, { lr: 3e-3, weightDecay: 0.05, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
    const losses: number[] = [];
    for (let i = 0; i < 80; i++) {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, model.apply(x, { training: false }) as tf.Tensor) as tf.Scalar, vars);
      opt.apply(vars.map((v) => grads[v.name]!));
      losses.push(value.dataSync()[0]!);
      tf.dispose([value, ...Object.values(grads)]);
    }
    opt.dispose();
    tf.dispose([x, y]);
    model.dispose();
    return [losses[0]!, losses[79]!];
  };
  const builders = [['swinv2', () => buildSwinv2(tinySwin, { normalize: 'imagenet' }), 20], ['beit', () => buildBeit(tinyBeit, { normalize: 'half' }), 16]] as const;
  for (const [name, build, size] of builders) {
    const tries: number[][] = [];
    while (tries.length < 3) {
      const [first, last] = fit(build(), size);
      tries.push([first, last]);
      if (last < first * 0.5) break;
    }
    const [first, last] = tries[tries.length - 1]!;
    assert.ok(last! < first! * 0.5, `${name}: loss did not halve in any of 3 inits: ${tries.map(([a, b]) => `${a} -> ${b}`).join('; ')}`);
  }
});
