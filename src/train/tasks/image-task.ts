import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mixBatch } from '../../augment/batch-mix.js';
import { augmentImage, type AugmentConfig } from '../../augment/pipeline.js';
import { predictProbs } from '../../predict/predict-probs.js';
import { Rng } from '../../util/random.js';
import { UserError } from '../../util/errors.js';
import { smoothedTargets, softCrossEntropy } from '../soft-cross-entropy.js';
import type { Batch, SplitName, TrainTask } from '../task.js';
import { crossResolutionLoss } from './cross-resolution.js';
import { type PseudoLabel, selectPseudoLabels } from './pseudo-label.js';

/** Decoded images: HWC uint8 at `size`, plus optional 256px-copy pixels at `upscaleSize`. */
export interface ImageSet {
  pixels: Uint8Array[];
  size: number;
  labels: number[];
  upscale?: Uint8Array[];
  upscaleSize?: number;
}

export interface ImageTaskOptions {
  model: tfl.LayersModel;
  paramGroups: TrainTask['paramGroups'];
  numClasses: number;
  imageSize: number;
  train: ImageSet;
  /** Validation and test images at the prediction source size. */
  val: ImageSet;
  test?: { pixels: Uint8Array[]; size: number };
  evalImageSize: number;
  /** The same network at another input size (prediction at evalImageSize != imageSize); weights are copied in. */
  buildAt?: (size: number) => Promise<tfl.LayersModel>;
  augment: AugmentConfig;
  labelSmoothing: number;
  /** Cross-resolution distillation: each image enters a batch as its 64px view and its 256px copy. */
  upscaleTeacher?: { weight: number; temperature: number };
  /** Pseudo-label confident test predictions before epoch `afterEpoch` (test pixels at imageSize: trainTest). */
  pseudoLabel?: { afterEpoch: number; threshold: number; trainTest: () => Promise<Uint8Array[]> };
  meta: Record<string, unknown>;
}

/**
 * Training on decoded images (the scratch and full recipes): views drawn per sample (the 64px image or its 256px
 * copy), random crop / flip / colour jitter, CutMix, label smoothing; predictions on whole images with flip TTA.
 */
export class ImageTask implements TrainTask {
  readonly model: tfl.LayersModel;
  readonly paramGroups: TrainTask['paramGroups'];
  readonly meta: Record<string, unknown>;
  private pseudo: PseudoLabel[] | undefined;
  private pseudoPixels: Uint8Array[] = [];
  private pending: Promise<void> | undefined;
  constructor(private readonly o: ImageTaskOptions) {
    this.model = o.model;
    this.paramGroups = o.paramGroups;
    this.meta = o.meta;
    if (o.upscaleTeacher && (o.augment.cutmix > 0 || o.augment.mixup > 0)) throw new UserError('upscaleTeacher (cross-resolution distillation) cannot be combined with cutmix or mixup');
    if ((o.upscaleTeacher || o.augment.upscaleProb > 0) && !o.train.upscale) throw new UserError('the 256px copies (upscale_img_path) are needed for upscaleProb / upscaleTeacher');
  }

  numSamples(): number {
    return this.o.train.pixels.length + (this.pseudo?.length ?? 0);
  }

  async batch(indices: number[], rng: Rng): Promise<Batch> {
    const { train, imageSize: size, augment, numClasses } = this.o;
    const nLabelled = train.pixels.length;
    const xr = this.o.upscaleTeacher;
    const rows = xr ? indices.length * 2 : indices.length;
    const imgLen = size * size * 3;
    const x = new Float32Array(rows * imgLen);
    const labels = indices.map((i) => (i < nLabelled ? train.labels[i]! : this.pseudo![i - nLabelled]!.label));
    indices.forEach((i, b) => {
      const pseudo = i >= nLabelled;
      const lr = pseudo ? this.pseudoPixels[i - nLabelled]! : train.pixels[i]!;
      if (xr) {
        // Rows 0..n-1: 64px views; rows n..2n-1: the same images' 256px copies, with the same crop/flip/jitter draws.
        const seed = rng.int(2 ** 31);
        augmentImage(lr, train.size, x, b * imgLen, size, augment, new Rng(seed));
        const hr = pseudo ? { px: lr, size: train.size } : { px: train.upscale![i]!, size: train.upscaleSize! };
        augmentImage(hr.px, hr.size, x, (indices.length + b) * imgLen, size, augment, new Rng(seed));
        return;
      }
      const useUp = !pseudo && train.upscale && rng.next() < augment.upscaleProb;
      if (useUp) augmentImage(train.upscale![i]!, train.upscaleSize!, x, b * imgLen, size, augment, rng);
      else augmentImage(lr, train.size, x, b * imgLen, size, augment, rng);
    });
    const y = smoothedTargets(xr ? [...labels, ...labels] : labels, numClasses, this.o.labelSmoothing);
    mixBatch(x, y, rows, size, numClasses, augment, rng); // CutMix or MixUp (soft labels), when enabled
    return { x: tf.tensor4d(x, [rows, size, size, 3]), y, rows };
  }

  loss(logits: tf.Tensor2D, targets: tf.Tensor2D): tf.Scalar {
    const xr = this.o.upscaleTeacher;
    const ce = softCrossEntropy(targets, logits);
    if (!xr) return ce;
    return tf.add(ce, tf.mul(crossResolutionLoss(logits, xr.temperature), xr.weight * xr.temperature ** 2)) as tf.Scalar;
  }

  async predict(split: SplitName, tta: boolean): Promise<Float32Array> {
    const set = split === 'val' ? this.o.val : this.o.test;
    if (!set) throw new Error('no test images');
    const { evalImageSize, imageSize } = this.o;
    let model = this.model;
    if (evalImageSize !== imageSize) {
      model = await this.o.buildAt!(evalImageSize);
      model.setWeights(this.model.getWeights());
    }
    try {
      return await predictProbs(model, set.pixels, set.size, { inputSize: evalImageSize, hflipTta: tta });
    } finally {
      if (model !== this.model) model.dispose();
    }
  }

  async beforeEpoch(epoch: number): Promise<string | undefined> {
    await this.pending;
    const pl = this.o.pseudoLabel;
    if (!pl || this.pseudo || epoch < pl.afterEpoch) return undefined;
    if (!this.o.test) throw new UserError('pseudoLabel: pseudo-labelling needs unlabelled test images (a test.csv in the data folder)');
    const t0 = Date.now();
    this.pseudo = selectPseudoLabels(await this.predict('test', true), this.o.numClasses, pl.threshold);
    await this.loadPseudoPixels();
    return `pseudo-labelled ${this.pseudo.length} of ${this.o.test.pixels.length} test images (p >= ${pl.threshold}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`;
  }

  private async loadPseudoPixels(): Promise<void> {
    const all = await this.o.pseudoLabel!.trainTest();
    this.pseudoPixels = this.pseudo!.map((p) => all[p.index]!);
  }

  state(): unknown {
    return { pseudo: this.pseudo };
  }

  loadState(s: unknown): void {
    const st = s as { pseudo?: PseudoLabel[] };
    this.pseudo = st.pseudo;
    if (this.pseudo) this.pending = this.loadPseudoPixels();
  }

  dispose(): void {
    this.model.dispose();
  }
}
