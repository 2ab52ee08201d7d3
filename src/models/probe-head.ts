import * as tfl from '@tensorflow/tfjs-layers';
import { SeededDropout } from './layers/seeded-dropout.js';

/** A classifier head on pooled embeddings: softmax regression (`linear`) or one hidden ReLU layer (`mlp`). */
export interface ProbeHeadConfig {
  kind: 'linear' | 'mlp';
  dim: number;
  hidden: number;
  numClasses: number;
}

/** Applies the head to a symbolic embedding (layer names probe_hidden, probe_dropout, new_head). */
export function applyProbeHead(x: tfl.SymbolicTensor, cfg: ProbeHeadConfig): tfl.SymbolicTensor {
  let y = x;
  if (cfg.kind === 'mlp') {
    y = tfl.layers.dense({ units: cfg.hidden, activation: 'relu', name: 'probe_hidden' }).apply(y) as tfl.SymbolicTensor;
    y = new SeededDropout({ rate: 0.3, name: 'probe_dropout' }).apply(y) as tfl.SymbolicTensor;
  }
  return tfl.layers.dense({ units: cfg.numClasses, name: 'new_head', kernelInitializer: cfg.kind === 'linear' ? 'zeros' : 'glorotUniform' }).apply(y) as tfl.SymbolicTensor;
}

export function buildProbeHead(cfg: ProbeHeadConfig): tfl.LayersModel {
  const input = tfl.input({ shape: [cfg.dim], name: 'embedding' });
  return tfl.model({ inputs: input, outputs: applyProbeHead(input, cfg), name: 'probe_head' });
}
