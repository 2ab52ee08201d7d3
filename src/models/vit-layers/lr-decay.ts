/**
 * Layer-wise learning-rate decay (BEiT / timm `param_groups_layer_decay`) and the weight-decay mask for the
 * transformer models.
 *
 * Every variable gets a layer id from its HF-style name: 0 for the embeddings (and a shared relative position bias
 * table), 1..L for the transformer blocks in order (SwinV2 blocks are numbered across stages, a stage's patch merging
 * shares the id of that stage's last block), L+1 for everything after the encoder (final norm, pooler, classifier).
 * The lr multiplier is decay^(L+1 - id): the classifier trains at the full rate, the patch embedding at decay^(L+1).
 *
 * With plumage's trainer: `fit({ ..., lrMultipliers: layerDecayMultipliers(model, 0.75) })` — AdamW multiplies its
 * current (scheduled) lr by the variable's multiplier at every step.
 */
import type * as tfl from '@tensorflow/tfjs-layers';

interface Named {
  originalName: string;
}

/** Number of blocks L and a function from variable name to layer id in 0..L+1. */
export function layerIds(names: string[]): { numLayers: number; layerId: (name: string) => number } {
  // BEiT: beit.encoder.layer.<i>
  const beitBlocks = new Set<number>();
  // SwinV2: swinv2.encoder.layers.<s>.blocks.<b>
  const swinBlocks = new Map<number, number>();
  for (const n of names) {
    const b = /encoder\.layer\.(\d+)[./]/.exec(n);
    if (b) beitBlocks.add(Number(b[1]));
    const s = /encoder\.layers\.(\d+)\.blocks\.(\d+)[./]/.exec(n);
    if (s) swinBlocks.set(Number(s[1]), Math.max(swinBlocks.get(Number(s[1])) ?? 0, Number(s[2]) + 1));
  }
  const stageStart: number[] = [];
  let total = 0;
  const stages = [...swinBlocks.keys()].sort((a, b) => a - b);
  for (const s of stages) {
    stageStart[s] = total;
    total += swinBlocks.get(s)!;
  }
  const numLayers = beitBlocks.size > 0 ? Math.max(...beitBlocks) + 1 : total;
  const layerId = (name: string): number => {
    const b = /encoder\.layer\.(\d+)[./]/.exec(name);
    if (b) return Number(b[1]) + 1;
    const s = /encoder\.layers\.(\d+)\.blocks\.(\d+)[./]/.exec(name);
    if (s) return stageStart[Number(s[1])]! + Number(s[2]) + 1;
    const d = /encoder\.layers\.(\d+)\.downsample[./]/.exec(name);
    if (d) {
      const st = Number(d[1]);
      return stageStart[st]! + swinBlocks.get(st)!;
    }
    if (/(^|[./])embeddings[./]/.test(name) || /encoder\.relative_position_bias[./]/.test(name)) return 0;
    return numLayers + 1;
  };
  return { numLayers, layerId };
}

/** Per-variable lr multipliers in `model.trainableWeights` order (what plumage's AdamW `lrMultipliers` expects). */
export function layerDecayMultipliers(model: tfl.LayersModel, decay: number): number[] {
  const names = (model.trainableWeights as unknown as Named[]).map((w) => w.originalName);
  const { numLayers, layerId } = layerIds(names);
  return names.map((n) => decay ** (numLayers + 1 - layerId(n)));
}

export { usesWeightDecay } from '../weight-decay.js';
