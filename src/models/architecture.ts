import type * as tfl from '@tensorflow/tfjs-layers';

/**
 * What the architecture registry (src/models/index.ts) holds per name: every trainable model plumage knows.
 * A builder gets the number of classes and the input size and returns a model whose output is logits.
 */
export interface ArchitectureSpec {
  description: string;
  /** Default input size in pixels (square). */
  inputSize: number;
  /** Input pixel range the model expects; the data pipeline produces float32 in [0, 1] and the model normalises itself. */
  build(opts: BuildOptions): tfl.LayersModel | Promise<tfl.LayersModel>;
}

export interface BuildOptions {
  numClasses: number;
  inputSize?: number;
  seed?: number;
  /** Stochastic depth rate (transformers; default the config's). */
  dropPathRate?: number;
  /** Hub/folder models: false skips loading the pretrained weights (a run checkpoint overwrites them anyway). */
  pretrained?: boolean;
}

