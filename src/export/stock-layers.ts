/**
 * plumage's custom layers rewritten as stock tfjs-layers ones, so an exported model needs nothing from plumage:
 * `PlumageBatchNorm` (the fused-kernel batch norm) becomes `BatchNormalization` with the same epsilon and weights
 * (gamma, beta, moving_mean, moving_variance, same order and names), `SeededDropout` becomes `Dropout` (both are the
 * identity at inference). Architectures built from other custom layers (the SwinV2/BEiT attention blocks) are
 * refused by name.
 */
import * as tfl from '@tensorflow/tfjs-layers';
import { UserError } from '../util/errors.js';

/** Stock tfjs-layers classes an exported model may contain (each one also has an ONNX translation). */
export const STOCK_CLASSES = new Set([
  'InputLayer', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'ReLU', 'Activation', 'Add', 'GlobalAveragePooling2D',
  'Dropout', 'Dense', 'Flatten', 'Rescaling', 'Softmax',
]);

type LayerJson = { class_name: string; name: string; config: Record<string, unknown>; inbound_nodes: unknown[] };
type ModelJson = { class_name: string; config: { layers: LayerJson[] } & Record<string, unknown> } & Record<string, unknown>;

const REWRITE: Record<string, (c: Record<string, unknown>) => { class_name: string; config: Record<string, unknown> }> = {
  PlumageBatchNorm: (c) => ({
    class_name: 'BatchNormalization',
    config: { name: c.name, trainable: c.trainable, dtype: c.dtype ?? 'float32', axis: -1, momentum: c.momentum, epsilon: c.epsilon, center: true, scale: true },
  }),
  SeededDropout: (c) => ({ class_name: 'Dropout', config: { name: c.name, trainable: c.trainable, dtype: c.dtype ?? 'float32', rate: c.rate } }),
};

/** Throws a UserError naming the architecture and its layer classes that have no stock equivalent. */
export function checkExportable(model: tfl.LayersModel, architecture: string, format: string): void {
  const bad = [...new Set(model.layers.map((l) => l.getClassName()).filter((c) => !STOCK_CLASSES.has(c) && !(c in REWRITE)))];
  if (bad.length) {
    throw new UserError(
      `export --format ${format}: architecture '${architecture}' cannot be exported: its layers ${bad.join(', ')} are plumage-only ` +
        '(transformer blocks) with no stock tfjs equivalent; to tfjs export resnet-*, mobilenetv2-* and fine-tuned MobileNetV2 runs (--recipe full/partial); transformers export to ONNX (--format onnx)',
    );
  }
}

/** The model's topology with custom layers rewritten as stock ones (keras JSON, as stored in model.json). */
export function stockTopology(model: tfl.LayersModel): ModelJson {
  const json = model.toJSON(undefined, false) as unknown as ModelJson;
  json.config.layers = json.config.layers.map((l) => {
    const r = REWRITE[l.class_name];
    return r ? { ...l, ...r(l.config) } : l;
  });
  return json;
}

/** A stock-only copy of `model` (same weights), built by tfjs-layers' own deserialiser from the rewritten topology. */
export async function toStockModel(model: tfl.LayersModel, architecture: string): Promise<tfl.LayersModel> {
  checkExportable(model, architecture, 'tfjs');
  const stock = await tfl.models.modelFromJSON({ modelTopology: stockTopology(model) as never });
  const byName = new Map(model.weights.map((w) => [w.originalName, w]));
  if (stock.weights.length !== model.weights.length) throw new Error(`export: stock model has ${stock.weights.length} weights, the original ${model.weights.length}`);
  for (const w of stock.weights) {
    const src = byName.get(w.originalName);
    if (!src || src.shape.join('x') !== w.shape.join('x')) throw new Error(`export: no weight matches ${w.originalName} ${w.shape.join('x')} in the original model`);
    w.write(src.read());
  }
  const custom = stock.layers.map((l) => l.getClassName()).filter((c) => !STOCK_CLASSES.has(c));
  if (custom.length) throw new Error(`export: custom layer classes left after the rewrite: ${custom.join(', ')}`);
  return stock;
}
