/** Pretrained weights: registry, cache, TFLite import. */
import fs from 'node:fs/promises';
import { type CacheOptions, pullModel } from './cache.js';
import { type Label, parseLabels } from './labels.js';
import { type Artifact, ARTIFACTS, getArtifact } from './registry.js';
import { loadFloatGraph } from './tflite-dequantize.js';
import type { FloatGraph } from './tflite-graph.js';

export * from './cache.js';
export * from './labels.js';
export * from './registry.js';

export interface PretrainedBackbone {
  id: string;
  artifact: Artifact;
  graph: FloatGraph;
  labels: Label[];
  modelPath: string;
}

const loaded = new Map<string, PretrainedBackbone>();

/** Pulls (or finds) a pretrained TFLite model, dequantizes it and parses its labels. Memoised per process. */
export async function loadPretrained(id: string, opts: CacheOptions = {}): Promise<PretrainedBackbone> {
  const artifact = getArtifact(id, opts.registry ?? ARTIFACTS);
  if (artifact.format !== 'tflite') throw new Error(`${id} is not a model (format ${artifact.format})`);
  const { model, labels } = await pullModel(id, opts);
  const key = `${id}\0${model}`;
  const hit = loaded.get(key);
  if (hit) return hit;
  const graph = loadFloatGraph(new Uint8Array(await fs.readFile(model)));
  const labelArt = artifact.labels ? getArtifact(artifact.labels, opts.registry ?? ARTIFACTS) : null;
  const lab = labels && labelArt ? parseLabels(await fs.readFile(labels, 'utf8'), labelArt.labelFormat ?? 'plain') : [];
  const out: PretrainedBackbone = { id, artifact, graph, labels: lab, modelPath: model };
  loaded.set(key, out);
  return out;
}
