/**
 * Inference graph of a functional tfjs-layers model with every convolution -> batch norm (-> ReLU / ReLU6) chain
 * folded into one convolution with bias and activation (layers/fused-conv.ts), as ONNX Runtime and PyTorch's
 * inference freezing do: per output channel, W' = W * s and b' = (b - mean) * s + beta with s = gamma / sqrt(var + eps).
 * The result computes the same function as the source model with `training: false` (to float32 rounding); its other
 * layers get the source's current weight values. Chains that are not plain (a shared layer, a convolution or batch norm feeding more than one
 * layer, channels-first data, an activated convolution) are left as they are.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { FusedConv, type FusedConvActivation, type FusedConvArgs } from './layers/fused-conv.js';

type InboundRef = [string, number, number, Record<string, unknown>];
interface LayerEntry {
  name: string;
  className: string;
  config: Record<string, unknown>;
  inboundNodes: InboundRef[][];
}
interface ModelConfig {
  name: string;
  layers: LayerEntry[];
  inputLayers: [string, number, number][];
  outputLayers: [string, number, number][];
}

const CONVS = new Set(['Conv2D', 'DepthwiseConv2D']);
const NORMS = new Set(['PlumageBatchNorm', 'BatchNormalization']);

interface Fold {
  conv: LayerEntry;
  norm: LayerEntry;
  /** A ReLU / Activation layer after the norm that the folded convolution also computes. */
  act: LayerEntry | null;
  activation: FusedConvActivation;
}

/** The activation a layer computes when it is a plain ReLU or ReLU6, else null. */
function reluOf(e: LayerEntry): FusedConvActivation | null {
  if (e.className === 'ReLU') {
    const max = e.config.maxValue;
    if (max == null) return 'relu';
    return max === 6 ? 'relu6' : null;
  }
  if (e.className === 'Activation' && (e.config.activation === 'relu' || e.config.activation === 'relu6')) return e.config.activation;
  return null;
}

function findFolds(cfg: ModelConfig): Fold[] {
  const byName = new Map(cfg.layers.map((l) => [l.name, l]));
  const consumers = new Map<string, string[]>();
  for (const l of cfg.layers) for (const node of l.inboundNodes) for (const [src] of node) consumers.set(src, [...(consumers.get(src) ?? []), l.name]);
  const isOutput = new Set(cfg.outputLayers.map(([n]) => n));
  const only = (name: string): LayerEntry | null => {
    const c = consumers.get(name) ?? [];
    return c.length === 1 && !isOutput.has(name) ? byName.get(c[0]!)! : null;
  };
  const folds: Fold[] = [];
  for (const conv of cfg.layers) {
    if (!CONVS.has(conv.className) || conv.inboundNodes.length !== 1) continue;
    const c = conv.config;
    if ((c.activation ?? 'linear') !== 'linear' || (c.dataFormat ?? 'channelsLast') !== 'channelsLast') continue;
    const norm = only(conv.name);
    if (!norm || !NORMS.has(norm.className) || norm.inboundNodes.length !== 1) continue;
    const axis = norm.config.axis;
    if (norm.className === 'BatchNormalization' && axis !== -1 && axis !== 3) continue;
    let activation: FusedConvActivation = (norm.config.activation as FusedConvActivation | undefined) ?? 'linear';
    let act: LayerEntry | null = null;
    if (activation === 'linear') {
      const next = only(norm.name);
      const relu = next && next.inboundNodes.length === 1 ? reluOf(next) : null;
      if (relu) {
        activation = relu;
        act = next;
      }
    }
    folds.push({ conv, norm, act, activation });
  }
  return folds;
}

const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [v[0] as number, (v[1] ?? v[0]) as number] : [v as number, v as number]);

/** Values of a layer's weights by their short name (gamma, moving_mean, kernel...). */
function weightsOf(layer: tfl.layers.Layer): Map<string, tf.Tensor> {
  const vals = layer.getWeights();
  return new Map(layer.weights.map((w, i) => [w.originalName.split('/').pop()!, vals[i]!]));
}

/** Folded kernel and bias of one chain. */
function foldWeights(model: tfl.LayersModel, f: Fold, kind: FusedConvArgs['kind']): [tf.Tensor, tf.Tensor] {
  return tf.tidy(() => {
    const cw = weightsOf(model.getLayer(f.conv.name));
    const nw = weightsOf(model.getLayer(f.norm.name));
    const kernel = cw.get(kind === 'conv' ? 'kernel' : 'depthwise_kernel')!;
    const channels = kind === 'conv' ? kernel.shape[3]! : kernel.shape[2]! * kernel.shape[3]!;
    const eps = Number(f.norm.config.epsilon ?? 1e-3);
    const gamma = nw.get('gamma') ?? tf.ones([channels]);
    const beta = nw.get('beta') ?? tf.zeros([channels]);
    const s = tf.div(gamma, tf.sqrt(tf.add(nw.get('moving_variance')!, eps)));
    const k = tf.mul(kernel, kind === 'conv' ? s : tf.reshape(s, [kernel.shape[2]!, kernel.shape[3]!]));
    const b = tf.add(tf.mul(tf.sub(cw.get('bias') ?? tf.zeros([channels]), nw.get('moving_mean')!), s), beta);
    return [k, b];
  });
}

/** The folded inference model (a new model; `model` is unchanged). Returns `model` itself when nothing folds (and for Sequential models). */
export function foldBatchNorm(model: tfl.LayersModel): tfl.LayersModel {
  let cfg: ModelConfig;
  try {
    cfg = structuredClone(model.getConfig()) as unknown as ModelConfig;
  } catch {
    return model; // a layer whose config does not serialise: its graph cannot be rebuilt, the model runs as it is
  }
  if (!Array.isArray(cfg.layers) || !cfg.layers.every((l) => Array.isArray(l.inboundNodes))) return model; // a Sequential model's config
  const folds = findFolds(cfg);
  if (folds.length === 0) return model;
  const rename = new Map<string, string>();
  const removed = new Set<string>();
  const args = new Map<string, FusedConvArgs>();
  for (const f of folds) {
    const c = f.conv.config;
    const kernelShape = model.getLayer(f.conv.name).weights.find((w) => /kernel$/.test(w.originalName))!.shape as [number, number, number, number];
    const kind = f.conv.className === 'Conv2D' ? 'conv' : 'depthwise';
    const a: FusedConvArgs = { kind, kernelShape, strides: pair(c.strides), padding: c.padding as 'same' | 'valid', dilationRate: pair(c.dilationRate ?? 1), activation: f.activation, name: f.conv.name };
    args.set(f.conv.name, a);
    f.conv.className = FusedConv.className;
    f.conv.config = { ...a } as unknown as Record<string, unknown>;
    for (const gone of [f.norm, f.act]) {
      if (!gone) continue;
      rename.set(gone.name, f.conv.name);
      removed.add(gone.name);
    }
  }
  const target = (n: string) => rename.get(n) ?? n;
  cfg.layers = cfg.layers.filter((l) => !removed.has(l.name));
  for (const l of cfg.layers) for (const node of l.inboundNodes) for (const ref of node) if (rename.has(ref[0])) [ref[0], ref[1], ref[2]] = [target(ref[0]), 0, 0];
  for (const ref of cfg.outputLayers) if (rename.has(ref[0])) [ref[0], ref[1], ref[2]] = [target(ref[0]), 0, 0];
  cfg.name = `${cfg.name}_folded`;
  const folded = tfl.LayersModel.fromConfig(tfl.LayersModel, cfg as unknown as tf.serialization.ConfigDict) as tfl.LayersModel;
  const byConv = new Map(folds.map((f) => [f.conv.name, f]));
  for (const layer of folded.layers) {
    const f = byConv.get(layer.name);
    if (f) {
      const w = foldWeights(model, f, args.get(layer.name)!.kind);
      layer.setWeights(w);
      tf.dispose(w);
    } else if (layer.weights.length > 0) {
      const w = model.getLayer(layer.name).getWeights();
      layer.setWeights(w);
    }
  }
  return folded;
}
