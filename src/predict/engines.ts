/** The two ways a Predictor runs a network on an NHWC float32 batch: tfjs (the current backend) or ONNX Runtime. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { foldBatchNorm } from '../models/fold-batch-norm.js';

export type RuntimeName = 'tfjs' | 'onnx';

export interface Engine {
  readonly runtime: RuntimeName;
  /** Logits [n * numClasses] for n images of side `size` (NHWC float32 in [0, 1]). */
  logits(batch: Float32Array, n: number, size: number): Promise<Float32Array>;
  dispose(): void;
}

export class TfjsEngine implements Engine {
  readonly runtime = 'tfjs';
  /** The model with its batch norms folded into the convolutions (models/fold-batch-norm.ts), which runs the batches. */
  private readonly inference: tfl.LayersModel;
  /** `model`: the trained model, kept as it is (Grad-CAM reads its layers). */
  constructor(readonly model: tfl.LayersModel) {
    this.inference = foldBatchNorm(model);
  }
  async logits(batch: Float32Array, n: number, size: number): Promise<Float32Array> {
    const y = tf.tidy(() => this.inference.apply(tf.tensor4d(batch, [n, size, size, 3]), { training: false }) as tf.Tensor);
    try {
      return (await y.data()) as Float32Array;
    } finally {
      y.dispose();
    }
  }
  dispose(): void {
    if (this.inference !== this.model) this.inference.dispose();
    this.model.dispose();
  }
}

type Ort = typeof import('onnxruntime-node');
let ortModule: Promise<Ort | null> | undefined;
let ortError = '';

/** onnxruntime-node when its native binding loads, else null (`ortLoadError()` says why). */
export function loadOrt(): Promise<Ort | null> {
  ortModule ??= import('onnxruntime-node').then(
    (m) => m,
    (err: Error) => {
      ortError = err.message.split('\n')[0]!;
      return null;
    },
  );
  return ortModule;
}

export function ortLoadError(): string {
  return ortError;
}

export class OnnxEngine implements Engine {
  readonly runtime = 'onnx';
  private constructor(
    private readonly ort: Ort,
    private readonly session: Awaited<ReturnType<Ort['InferenceSession']['create']>>,
  ) {}

  /** Opens an exported model.onnx (input `image` NHWC, output `logits`). Threads: ORT's default (one per core) unless given. */
  static async open(file: string, threads?: number): Promise<OnnxEngine> {
    const ort = await loadOrt();
    if (!ort) throw new Error(`onnxruntime-node is not available (${ortLoadError()})`);
    const session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'all', ...(threads ? { intraOpNumThreads: threads } : {}) });
    return new OnnxEngine(ort, session);
  }

  async logits(batch: Float32Array, n: number, size: number): Promise<Float32Array> {
    const out = await this.session.run({ image: new this.ort.Tensor('float32', batch, [n, size, size, 3]) }, ['logits']);
    return out.logits!.data as Float32Array;
  }

  dispose(): void {
    void this.session.release();
  }
}
