import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { Rng } from '../util/random.js';

/** One training batch: network input, soft targets [rows * numClasses] and the number of rows. */
export interface Batch {
  x: tf.Tensor;
  y: Float32Array;
  rows: number;
}

/** Which split a prediction is for. */
export type SplitName = 'val' | 'test';

/**
 * A recipe as the engine sees it: what is trained, at which learning rate, and where batches come from. The engine
 * owns the loop (optimizer, schedule, validation, checkpoints, budget); a task owns the data and the network.
 */
export interface TrainTask {
  /** The trained network (for partial and probe: only the trained part); its weights are checkpointed. */
  readonly model: tfl.LayersModel;
  /** Per trainable weight of `model`, in order: learning-rate multiplier and whether weight decay applies. */
  readonly paramGroups: { lrMultiplier: number; decay: boolean }[];
  /** Training samples per epoch (may grow, e.g. with pseudo-labels). */
  numSamples(): number;
  /** Builds the batch of the given sample indices (the engine disposes `x`). */
  batch(indices: number[], rng: Rng): Promise<Batch>;
  /** Loss of a batch (default: soft-target cross-entropy). */
  loss?(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar;
  /** Class probabilities of a split in eval mode; `tta` adds the flipped view. */
  predict(split: SplitName, tta: boolean): Promise<Float32Array>;
  /** Called before each epoch (e.g. pseudo-labelling); returns a message to log, if any. */
  beforeEpoch?(epoch: number, epochs: number): Promise<string | undefined>;
  /** Task state that must survive --resume (JSON). */
  state?(): unknown;
  loadState?(s: unknown): void;
  /** Facts the run folder needs to rebuild the whole network (recorded in checkpoints). */
  readonly meta: Record<string, unknown>;
  dispose(): void;
}
