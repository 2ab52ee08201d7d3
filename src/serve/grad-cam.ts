import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Grad-CAM needs a convolutional feature map pooled by GlobalAveragePooling2D into the classifier. */
export class GradCamUnsupported extends Error {}

export interface GradCamResult {
  classIndex: number;
  /** Heat in [0, 1], row-major, height x width of the feature map. */
  heat: Float32Array;
  width: number;
  height: number;
  /** Name of the layer whose output is explained. */
  layer: string;
}

interface Plan {
  features: tfl.LayersModel;
  tail: tfl.layers.Layer[];
  layer: string;
}

const plans = new WeakMap<tfl.LayersModel, Plan>();

/**
 * Splits a model at the feature map that feeds its GlobalAveragePooling2D: a model from the input to that map, and
 * the chain of single-input layers from it to the logits (pooling, dropout, dense). Refuses models without one (ViTs).
 */
function plan(model: tfl.LayersModel, modelName: string): Plan {
  const cached = plans.get(model);
  if (cached) return cached;
  const pool = model.layers.find((l) => l.getClassName() === 'GlobalAveragePooling2D');
  if (!pool) throw new GradCamUnsupported(`Grad-CAM: model ${modelName} has no convolutional feature map pooled into its classifier (works for the CNNs: resnet-*, mobilenetv2 fine-tunes)`);
  const featTensor = pool.input as tfl.SymbolicTensor;
  const tail: tfl.layers.Layer[] = [];
  let layer: tfl.layers.Layer = pool;
  const outName = model.outputs[0]!.sourceLayer.name;
  for (;;) {
    tail.push(layer);
    if (layer.name === outName) break;
    const next = model.layers.filter((l) => l.inboundNodes.some((n) => n.inboundLayers.includes(layer)));
    if (next.length !== 1 || next[0]!.inboundNodes.length !== 1 || next[0]!.inboundNodes[0]!.inboundLayers.length !== 1) {
      throw new GradCamUnsupported(`Grad-CAM: model ${modelName}: the layers after ${pool.name} are not a single chain to the output`);
    }
    layer = next[0]!;
  }
  const features = tfl.model({ inputs: model.inputs, outputs: featTensor });
  const p = { features, tail, layer: featTensor.sourceLayer.name };
  plans.set(model, p);
  return p;
}

/** True when gradCam works for this model. */
export function supportsGradCam(model: tfl.LayersModel, modelName: string): boolean {
  try {
    plan(model, modelName);
    return true;
  } catch (err) {
    if (err instanceof GradCamUnsupported) return false;
    throw err;
  }
}

/**
 * Grad-CAM (Selvaraju et al. 2017) for one preprocessed input [1, H, W, 3]: the gradient of the class logit (the
 * top class unless given) with respect to the last convolutional feature map A, averaged over space into channel
 * weights w; heat = ReLU(sum_k w_k A_k), scaled to [0, 1].
 */
export function gradCam(model: tfl.LayersModel, input: tf.Tensor4D, modelName: string, classIndex?: number): GradCamResult {
  const p = plan(model, modelName);
  const res = tf.tidy(() => {
    const feats = p.features.apply(input, { training: false }) as tf.Tensor4D;
    const logitsOf = (a: tf.Tensor): tf.Tensor2D => p.tail.reduce((t, l) => l.apply(t, { training: false }) as tf.Tensor, a) as tf.Tensor2D;
    const cls = classIndex ?? (tf.argMax(logitsOf(feats), 1).dataSync()[0] as number);
    const grads = tf.grad((a: tf.Tensor) => tf.sum(tf.gather(logitsOf(a), [cls], 1)))(feats) as tf.Tensor4D;
    const weights = tf.mean(grads, [1, 2], true);
    const cam = tf.squeeze(tf.relu(tf.sum(tf.mul(feats, weights), 3)), [0]) as tf.Tensor2D;
    const max = tf.max(cam);
    const heat = tf.div(cam, tf.maximum(max, 1e-12));
    return { cls, heat };
  });
  const [h, w] = res.heat.shape as [number, number];
  const heat = res.heat.dataSync() as Float32Array;
  res.heat.dispose();
  return { classIndex: res.cls, heat: Float32Array.from(heat), width: w, height: h, layer: p.layer };
}

/** A blue-cyan-yellow-red colour map (jet-like) for heat in [0, 1]; returns [r, g, b] in 0..255. */
export function heatColor(v: number): [number, number, number] {
  const x = Math.min(1, Math.max(0, v));
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * x - 1)));
  return [Math.round(r * 255), Math.round(g * 255), Math.round(b * 255)];
}
