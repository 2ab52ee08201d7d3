import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { getArchitecture, listArchitectures } from '../../src/models/index.js';
import { buildMobileNetV2, mobilenetv2Configs } from '../../src/models/mobilenetv2.js';
import { selectBackend } from '../../src/runtime/backend.js';
import { Rng } from '../../src/util/random.js';
import { FrozenForward } from '../../src/weights/frozen-forward.js';
import { backboneBlocks, type FloatGraph, type GraphNode } from '../../src/weights/tflite-graph.js';
import type { TfliteModel } from '../../src/weights/tflite.js';
import { sharedPath } from '../helpers/shared.js';

const cfg = mobilenetv2Configs['mobilenetv2-inat-birds'];
const fixture = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, 'fixtures', 'mobilenetv2-weight-names.json'), 'utf8')) as {
  whole: string[];
  tail: { cut: string; weights: string[] };
};
const names = (m: tfl.LayersModel) => m.weights.map((w) => `${w.originalName} ${w.shape.join('x')}`);

/** A tiny MobileNetV2-shaped float graph: stem conv, one inverted residual block, Conv_1, pool, logits, softmax. */
function tinyGraph(): FloatGraph {
  const rng = new Rng(3);
  const rand = (n: number) => Float32Array.from({ length: n }, () => rng.next() - 0.5);
  const conv = (name: string, block: string, input: number, output: number, k: number, cin: number, cout: number, stride: number, activation: GraphNode['activation']): GraphNode => ({
    name, block, kind: 'conv', inputs: [input], output, kernel: rand(k * k * cin * cout), kernelShape: [k, k, cin, cout], bias: rand(cout), strides: [stride, stride], padding: 'same', activation,
  });
  const nodes: GraphNode[] = [
    conv('Conv_Conv2D_Fold', 'Conv', 0, 1, 3, 3, 4, 2, 'relu6'),
    { name: 'expanded_conv_depthwise', block: 'expanded_conv', kind: 'dwconv', inputs: [1], output: 2, kernel: rand(9 * 4), kernelShape: [3, 3, 4, 1], bias: rand(4), strides: [1, 1], padding: 'same', activation: 'relu6' },
    conv('expanded_conv_project', 'expanded_conv', 2, 3, 1, 4, 4, 1, 'linear'),
    { name: 'expanded_conv_add', block: 'expanded_conv', kind: 'add', inputs: [1, 3], output: 4, activation: 'linear' },
    conv('Conv_1_Conv2D_Fold', 'Conv_1', 4, 5, 1, 4, 6, 1, 'relu6'),
    { name: 'pool', block: 'pool', kind: 'avgpool', inputs: [5], output: 6, poolSize: [4, 4], strides: [1, 1], padding: 'valid', activation: 'linear' },
    { name: 'Logits_dense', block: 'Logits', kind: 'dense', inputs: [6], output: 7, kernel: rand(6 * 5), kernelShape: [6, 5], bias: rand(5), activation: 'linear' },
    { name: 'softmax', block: 'softmax', kind: 'softmax', inputs: [7], output: 8 },
  ];
  return {
    nodes,
    shapes: [[1, 8, 8, 3], [1, 4, 4, 4], [1, 4, 4, 4], [1, 4, 4, 4], [1, 4, 4, 4], [1, 4, 4, 6], [1, 1, 1, 6], [1, 5], [1, 5]],
    inputTensor: 0,
    inputSize: [8, 8],
    inputScale: 1 / 128,
    inputZeroPoint: 128,
    embeddingTensor: 6,
    logitsTensor: 7,
    numOutputs: 5,
    blocks: [
      { name: 'Conv', output: 1, channels: 4 },
      { name: 'expanded_conv', output: 4, channels: 4 },
      { name: 'Conv_1', output: 5, channels: 6 },
      { name: 'pool', output: 6, channels: 6 },
      { name: 'Logits', output: 7, channels: 5 },
      { name: 'softmax', output: 8, channels: 5 },
    ],
    tflite: { tensors: [], operators: [], inputs: [0], outputs: [8] } as unknown as TfliteModel,
  };
}

describe('MobileNetV2 architecture (src/models/mobilenetv2.ts)', () => {
  it('both pretrained variants are registered with their defaults, next to the other architectures', () => {
    const known = listArchitectures().map(([n]) => n);
    for (const n of ['mobilenetv2-inat-birds', 'mobilenetv2-imagenet']) {
      assert.ok(known.includes(n), n);
      assert.equal(getArchitecture(n).inputSize, 128);
    }
    for (const prefix of ['resnet-', 'swinv2-', 'beit-']) assert.ok(known.some((n) => n.startsWith(prefix)), `${prefix}* registered`);
    assert.equal(cfg.dropout, 0.2);
    assert.equal(mobilenetv2Configs['mobilenetv2-imagenet'].weights, 'mobilenetv2-imagenet');
  });

  it('builds the whole classifier: pretrained layers by graph node name, dropout, zero-initialised new_head', async () => {
    await selectBackend('cpu', () => {});
    const g = tinyGraph();
    const m = buildMobileNetV2(cfg, { numClasses: 3, inputSize: 16, graph: g });
    assert.deepEqual(m.inputs[0]!.shape, [null, 16, 16, 3]);
    assert.deepEqual(m.outputs[0]!.shape, [null, 3]);
    assert.ok(m.getLayer('head_dropout'));
    assert.deepEqual(names(m), [
      'Conv_Conv2D_Fold/kernel 3x3x3x4', 'Conv_Conv2D_Fold/bias 4',
      'expanded_conv_depthwise/depthwise_kernel 3x3x4x1', 'expanded_conv_depthwise/bias 4',
      'expanded_conv_project/kernel 1x1x4x4', 'expanded_conv_project/bias 4',
      'Conv_1_Conv2D_Fold/kernel 1x1x4x6', 'Conv_1_Conv2D_Fold/bias 6',
      'new_head/kernel 6x3', 'new_head/bias 3',
    ]);
    assert.equal(tf.max(tf.abs(m.getLayer('new_head').getWeights()[0]!)).dataSync()[0], 0);
    assert.ok(m.trainableWeights.length === m.weights.length, 'every layer trainable');
    assert.throws(() => buildMobileNetV2(cfg, { numClasses: 3, graph: g, from: 'logits' }), /cannot build from 'logits'/);
    m.dispose();
  });

  it('a tail built from a cut point has the whole network\'s weights above the cut, same names, same function', async () => {
    await selectBackend('cpu', () => {});
    const g = tinyGraph();
    const whole = buildMobileNetV2(cfg, { numClasses: 3, inputSize: 16, graph: g });
    const head = whole.getLayer('new_head');
    head.setWeights([tf.randomNormal([6, 3], 0, 1, 'float32', 5), tf.randomNormal([3], 0, 1, 'float32', 6)]);
    const cut = { block: 'Conv' };
    const tail = buildMobileNetV2(cfg, { numClasses: 3, inputSize: 16, graph: g, from: cut });
    assert.deepEqual(tail.inputs[0]!.shape, [null, 8, 8, 4]);
    const byName = new Map(whole.weights.map((w) => [w.originalName, w]));
    assert.deepEqual(names(tail), names(whole).slice(2), 'tail = whole minus the stem, in order');
    for (const w of tail.weights) w.write(byName.get(w.originalName)!.read());
    const x = tf.randomUniform([2, 16, 16, 3], 0, 1, 'float32', 7);
    const lower = new FrozenForward(g, { to: cut });
    const a = whole.predict(x) as tf.Tensor;
    const b = tail.predict(lower.apply(x as tf.Tensor4D)) as tf.Tensor;
    const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    assert.ok(diff < 1e-5, `whole vs lower blocks + tail: max |diff| ${diff}`);
    lower.dispose();
    whole.dispose();
    tail.dispose();
  });

  const models = sharedPath('models');
  it('keeps the weight names and order earlier runs saved (whole network and partial tail)', { skip: models.skip }, async () => {
    await selectBackend('cpu', () => {});
    const { loadPretrained } = await import('../../src/weights/index.js');
    for (const id of ['mobilenetv2-inat-birds', 'mobilenetv2-imagenet'] as const) {
      const { graph } = await loadPretrained(id, { offline: true, modelsDir: models.path });
      const whole = await getArchitecture(id).build({ numClasses: 25, inputSize: 128 });
      assert.deepEqual(names(whole), fixture.whole, id);
      const blocks = backboneBlocks(graph);
      assert.equal(blocks[blocks.length - 1 - 14], fixture.tail.cut);
      const tail = buildMobileNetV2(mobilenetv2Configs[id], { numClasses: 25, inputSize: 128, graph, from: { block: fixture.tail.cut } });
      assert.deepEqual(names(tail), fixture.tail.weights, `${id} tail`);
      whole.dispose();
      tail.dispose();
    }
  });
});
