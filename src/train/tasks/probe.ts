import { buildProbeHead } from '../../models/probe-head.js';
import { mobilenetv2Configs } from '../../models/mobilenetv2.js';
import type { ProbeConfig } from '../config.js';
import type { RunData } from '../data-split.js';
import { cachedFeatures } from './cached-features.js';
import { FeatureTask } from './feature-task.js';
import { checkPretrainedId, loadBackbone } from './pretrained.js';

/** Per-feature mean and standard deviation over every training row (all views). */
function featureStats(views: Float32Array[], dim: number): { mean: Float32Array; std: Float32Array } {
  const mean = new Float64Array(dim);
  const sq = new Float64Array(dim);
  let n = 0;
  for (const v of views) {
    for (let r = 0; r < v.length / dim; r++, n++) {
      for (let j = 0; j < dim; j++) {
        const x = v[r * dim + j]!;
        mean[j] += x;
        sq[j] += x * x;
      }
    }
  }
  const m = new Float32Array(dim);
  const s = new Float32Array(dim);
  for (let j = 0; j < dim; j++) {
    m[j] = mean[j]! / n;
    s[j] = Math.sqrt(Math.max(sq[j]! / n - m[j]! * m[j]!, 0)) + 1e-6;
  }
  return { mean: m, std: s };
}

/** The probe recipe: the backbone frozen, its pooled embeddings cached, a standardized linear or MLP head trained. */
export async function probeTask(cfg: ProbeConfig, data: RunData, quiet: boolean, log: (m: string) => void): Promise<FeatureTask> {
  const variant = mobilenetv2Configs[checkPretrainedId(cfg.model)];
  const imageSize = cfg.imageSize ?? variant.inputSize;
  const bb = await loadBackbone(cfg.model, cfg.modelsDir, quiet);
  const f = await cachedFeatures(bb, data, { cut: 'embedding', imageSize, trainViews: cfg.trainViews, log });
  log(`probe: ${f.computed} embeddings computed in ${f.seconds.toFixed(0)} s (the rest cached)`);
  const dim = f.shape[0]!;
  const { mean, std } = featureStats(f.train.views, dim);
  const model = buildProbeHead({ kind: cfg.head, dim, hidden: cfg.hidden, numClasses: data.classes.length });
  return new FeatureTask({
    model,
    paramGroups: model.trainableWeights.map(() => ({ lrMultiplier: 1, decay: true })),
    numClasses: data.classes.length,
    shape: f.shape,
    train: f.train,
    val: f.val,
    test: f.test,
    labelSmoothing: cfg.labelSmoothing,
    transform: (rows) => {
      for (let i = 0; i < rows.length; i++) rows[i] = (rows[i]! - mean[i % dim]!) / std[i % dim]!;
      return rows;
    },
    meta: { recipe: 'probe', model: cfg.model, inputSize: imageSize, evalInputSize: imageSize, head: cfg.head, hidden: cfg.hidden, featureMean: Array.from(mean), featureStd: Array.from(std) },
  });
}
