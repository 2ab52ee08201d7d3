import * as tf from '@tensorflow/tfjs-layers';
import { BatchNorm } from './layers/batch-norm.js';
import { SeededDropout } from './layers/seeded-dropout.js';
import { deriveSeed } from '../util/random.js';

/** Hands out one initialiser seed per layer from the model seed (undefined: unseeded). */
type SeedStream = () => number | undefined;
function seedStream(seed: number | undefined): SeedStream {
  let i = 0;
  return () => (seed === undefined ? undefined : deriveSeed(seed, i++));
}

/** A compact ResNet-style CNN for small (64x64) inputs, trainable from scratch. */
export interface ResNetConfig {
  /** Channels per stage; each stage halves the spatial size. */
  widths: number[];
  /** Basic blocks per stage. */
  depths: number[];
  /** Stem channels (3x3 conv, stride 1). */
  stemWidth: number;
  inputSize: number;
  numClasses: number;
  dropout: number;
  /** Seeds the weight initialisers (each layer derives its own), so a run is reproducible from --seed. */
  seed?: number;
}

export const resnetConfigs = {
  /** Very small: unit tests and quick smoke runs. */
  'resnet-tiny': { widths: [8, 16, 32, 64], depths: [1, 1, 1, 1], stemWidth: 8, inputSize: 32, numClasses: 25, dropout: 0.1 },
  /** The reference configuration used by bench:speed and the default baseline. */
  'resnet-mini': { widths: [32, 64, 128, 256], depths: [1, 1, 1, 1], stemWidth: 32, inputSize: 64, numClasses: 25, dropout: 0.2 },
  'resnet-small': { widths: [48, 96, 192, 384], depths: [2, 2, 2, 2], stemWidth: 32, inputSize: 64, numClasses: 25, dropout: 0.2 },
} satisfies Record<string, ResNetConfig>;

function convBn(x: tf.SymbolicTensor, filters: number, kernel: number, stride: number, name: string, relu: boolean, nextSeed: SeedStream): tf.SymbolicTensor {
  let y = tf.layers.conv2d({ filters, kernelSize: kernel, strides: stride, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }), name: `${name}_conv` }).apply(x) as tf.SymbolicTensor;
  y = new BatchNorm({ momentum: 0.9, epsilon: 1e-5, name: `${name}_bn` }).apply(y) as tf.SymbolicTensor;
  return relu ? (tf.layers.reLU({ name: `${name}_relu` }).apply(y) as tf.SymbolicTensor) : y;
}

function basicBlock(x: tf.SymbolicTensor, filters: number, stride: number, name: string, nextSeed: SeedStream): tf.SymbolicTensor {
  const inChannels = x.shape[x.shape.length - 1];
  let y = convBn(x, filters, 3, stride, `${name}_a`, true, nextSeed);
  y = convBn(y, filters, 3, 1, `${name}_b`, false, nextSeed);
  const shortcut = stride !== 1 || inChannels !== filters ? convBn(x, filters, 1, stride, `${name}_proj`, false, nextSeed) : x;
  const sum = tf.layers.add({ name: `${name}_add` }).apply([y, shortcut]) as tf.SymbolicTensor;
  return tf.layers.reLU({ name: `${name}_out` }).apply(sum) as tf.SymbolicTensor;
}

export function buildResNet(cfg: ResNetConfig): tf.LayersModel {
  const nextSeed = seedStream(cfg.seed);
  const input = tf.input({ shape: [cfg.inputSize, cfg.inputSize, 3], name: 'image' });
  let x = convBn(input, cfg.stemWidth, 3, 1, 'stem', true, nextSeed);
  cfg.widths.forEach((width, stage) => {
    for (let b = 0; b < cfg.depths[stage]!; b++) x = basicBlock(x, width, b === 0 ? 2 : 1, `s${stage + 1}b${b + 1}`, nextSeed);
  });
  x = tf.layers.globalAveragePooling2d({ name: 'pool' }).apply(x) as tf.SymbolicTensor;
  if (cfg.dropout > 0) x = new SeededDropout({ rate: cfg.dropout, name: 'drop' }).apply(x) as tf.SymbolicTensor;
  const logits = tf.layers.dense({ units: cfg.numClasses, name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: logits, name: 'resnet' });
}
