import type { Dataset } from '../../data/dataset.js';
import type { CutPoint } from '../../weights/tflite-graph.js';
import type { PretrainedBackbone } from '../../weights/index.js';
import { computeFeatures, type FeatureImage, type ViewSpec } from '../features.js';
import type { RunData } from '../data-split.js';
import type { FeatureSplit } from './feature-task.js';

/** A view name of the config (image / upscale, optionally .flip) as the feature cache's view. */
export function viewSpec(name: string): ViewSpec {
  const [src, flip] = name.split('.');
  return { source: src === 'upscale' ? 'hr' : 'lr', flip: flip === 'flip' || undefined };
}

const EVAL_VIEWS = ['image', 'image.flip'];

function images(ds: Dataset): FeatureImage[] {
  return ds.samples.map((s) => ({ lr: s.path, hr: s.upscalePath }));
}

/**
 * Frozen-backbone outputs (at `cut`) of every training view and of the evaluation views (image, image.flip) of the
 * validation and test sets, read from the on-disk feature cache or computed once.
 */
export async function cachedFeatures(
  bb: PretrainedBackbone,
  data: RunData,
  o: { cut: CutPoint; imageSize: number; trainViews: string[]; log: (m: string) => void; cacheRoot?: string },
): Promise<{ train: FeatureSplit & { labels: number[] }; val: FeatureSplit; test?: FeatureSplit; shape: number[]; computed: number; seconds: number }> {
  const t0 = Date.now();
  let computed = 0;
  let shape: number[] = [];
  const run = async (ds: Dataset, views: string[], what: string) => {
    const out: Float32Array[] = [];
    for (const v of views) {
      const r = await computeFeatures(images(ds), viewSpec(v), {
        backboneId: bb.id,
        graph: bb.graph,
        inputSize: o.imageSize,
        cut: o.cut,
        cacheRoot: o.cacheRoot,
        onProgress: (d, t) => {
          if (d === t || d % 1024 < 32) o.log(`  features ${what} ${v}@${o.imageSize}: ${d}/${t}`);
        },
      });
      computed += r.computed;
      shape = r.shape;
      out.push(r.features);
    }
    return out;
  };
  const labels = data.train.samples.map((s) => s.label!);
  const train = { views: await run(data.train, o.trainViews, 'train'), labels };
  const val = { views: await run(data.val, EVAL_VIEWS, 'val') };
  const test = data.test ? { views: await run(data.test, EVAL_VIEWS, 'test') } : undefined;
  return { train, val, test, shape, computed, seconds: (Date.now() - t0) / 1000 };
}
