/**
 * The preprocessing every plumage runtime shares (tfjs, ONNX, the exported models' metadata): decode with sharp to
 * RGB at `decodeSize` (lanczos3, aspect ratio not kept), bilinear-resample to the model's input size, scale to
 * [0, 1]; NHWC float32. Models normalise further inside themselves.
 */
import { sampleFull } from './sample-image.js';

/** Side the images are decoded at before the model's own resampling: 64px (the dataset's size) or the input size if larger. */
export function decodeSizeFor(inputSize: number): number {
  return Math.max(64, inputSize);
}

/** HWC uint8 images of side srcSize -> one NHWC float32 batch in [0, 1] at inputSize, mirrored if `flip`. */
export function toBatch(images: Uint8Array[], srcSize: number, inputSize: number, flip = false): Float32Array {
  const len = inputSize * inputSize * 3;
  const out = new Float32Array(images.length * len);
  images.forEach((im, i) => sampleFull(im, srcSize, out, i * len, inputSize, flip));
  return out;
}

/** Human-readable description stored in exported models' metadata. */
export function preprocessingSpec(inputSize: number): Record<string, unknown> {
  return {
    layout: 'NHWC',
    dtype: 'float32',
    shape: [null, inputSize, inputSize, 3],
    channels: 'RGB',
    range: [0, 1],
    resize: `decode to ${decodeSizeFor(inputSize)}x${decodeSizeFor(inputSize)} (lanczos3, aspect ratio not kept), then bilinear to ${inputSize}x${inputSize}`,
    normalization: 'none outside the model (the model normalises its [0, 1] input itself)',
  };
}
