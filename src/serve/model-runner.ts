import path from 'node:path';
import type * as tfl from '@tensorflow/tfjs-layers';
import { loadRun } from '../runs/load-run.js';
import { predictProbs } from '../predict/predict-probs.js';
import type { CacheOptions } from '../weights/index.js';

/**
 * The one place `plumage serve` meets the model: load a run folder and turn decoded images into probabilities.
 * Everything else in src/serve talks to this interface, so the loader/predictor behind it can be swapped (for the
 * reusable Predictor of src/predict) by editing this file only.
 */
export interface ModelRunner {
  /** Model id in the API: the run folder's name. */
  id: string;
  runDir: string;
  checkpoint: string;
  architecture: string;
  classes: string[];
  /** Side of the square the network takes. */
  inputSize: number;
  /** Side the server decodes uploads to (HWC uint8 RGB) before `predict`; the model samples inputSize from it. */
  srcSize: number;
  /** The tfjs Layers model, for Grad-CAM; undefined when the runner predicts without tfjs (explain then answers 422). */
  model: tfl.LayersModel | undefined;
  /** Softmax probabilities [images.length * classes.length] for HWC uint8 images of side srcSize. */
  predict(images: Uint8Array[]): Promise<Float32Array>;
  dispose(): void;
}

export async function loadModelRunner(runDir: string, weights?: CacheOptions): Promise<ModelRunner> {
  const run = await loadRun(runDir, 'best', weights);
  const inputSize = run.meta.inputSize;
  // Same decode size as `plumage predict`: at least the 64px of the data, the network's size when larger.
  const srcSize = Math.max(64, inputSize);
  const id = path.basename(runDir.endsWith('.ckpt') ? path.dirname(path.dirname(runDir)) : path.resolve(runDir));
  return {
    id,
    runDir: runDir.endsWith('.ckpt') ? path.dirname(path.dirname(runDir)) : runDir,
    checkpoint: run.checkpoint,
    architecture: run.meta.model,
    classes: run.meta.classes,
    inputSize,
    srcSize,
    model: run.model,
    predict: (images) => predictProbs(run.model, images, srcSize, { inputSize, batchSize: Math.max(1, images.length) }),
    dispose: () => run.model.dispose(),
  };
}
