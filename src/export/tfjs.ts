/**
 * tfjs export: a stock Layers model (`model.json` + 4 MB weight shards, tfjs's own format) that
 * `tf.loadLayersModel('.../model.json')` loads in a browser or Node with no plumage code. The class names, input
 * size and preprocessing are in the model's `userDefinedMetadata.plumage` (`model.getUserDefinedMetadata()`).
 */
import path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { writeFileAtomic } from '../util/atomic-write.js';
import type { ExportMetadata } from './metadata.js';
import { toStockModel } from './stock-layers.js';

const SHARD_BYTES = 4 * 1024 * 1024;

/** Writes model.json and its shards into `dir`; returns the files written (model.json last, so a reader never sees a half export). */
export async function exportTfjs(model: tfl.LayersModel, meta: ExportMetadata, dir: string): Promise<string[]> {
  const stock = await toStockModel(model, meta.model);
  try {
    stock.setUserDefinedMetadata({ plumage: meta as unknown as object });
    let artifacts: tf.io.ModelArtifacts | undefined;
    await stock.save(tf.io.withSaveHandler(async (a) => {
      artifacts = a;
      return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(a) };
    }));
    const a = artifacts!;
    const data = new Uint8Array(tf.io.concatenateArrayBuffers(Array.isArray(a.weightData) ? a.weightData : [a.weightData!]));
    const n = Math.max(1, Math.ceil(data.length / SHARD_BYTES));
    const shards = Array.from({ length: n }, (_, i) => `group1-shard${i + 1}of${n}.bin`);
    const files: string[] = [];
    shards.forEach((name, i) => {
      const f = path.join(dir, name);
      writeFileAtomic(f, data.subarray(i * SHARD_BYTES, Math.min(data.length, (i + 1) * SHARD_BYTES)));
      files.push(f);
    });
    const json = {
      format: 'layers-model',
      generatedBy: `TensorFlow.js tfjs-layers v${tf.version_core}`,
      convertedBy: 'plumage export',
      modelTopology: a.modelTopology,
      weightsManifest: [{ paths: shards, weights: a.weightSpecs }],
      userDefinedMetadata: a.userDefinedMetadata,
    };
    const modelJson = path.join(dir, 'model.json');
    writeFileAtomic(modelJson, JSON.stringify(json));
    files.push(modelJson);
    return files;
  } finally {
    stock.dispose();
  }
}
