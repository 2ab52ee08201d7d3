import path from 'node:path';
import { runDetect } from '../preprocess/run-detect.js';
import { selectBackend } from '../runtime/backend.js';
import { UserError } from '../util/errors.js';
import type { Preprocessor } from './preprocess-hook.js';

/**
 * The experiment runner's preprocessing step on plumage's toolbox (src/preprocess): a variant's `preprocess:` block
 * becomes a DACON folder of detection crops (modes contour / pad / keep-aspect / resize, the names of `plumage detect --mode`, optionally super-resolved) or of
 * super-resolved whole images, which the variant then trains and predicts on.
 */
export const toolboxPreprocessor: Preprocessor = async ({ spec, cfg, outDir, log }) => {
  if (spec.on.length !== 3) throw new UserError(`preprocess.on: [${spec.on.join(', ')}]: only all splits (train, val, test) are preprocessed in this build`);
  if (spec.scale !== undefined && spec.scale !== 4) throw new UserError(`preprocess.scale: ${spec.scale}: the crops are super-resolved x4 (the ESRGAN models' x4 variants)`);
  const mode = spec.detect ? spec.detect.mode : 'none';
  const sr = spec.detect?.sr ?? spec.sr;
  await selectBackend(cfg.backend, log);
  const r = await runDetect({ data: cfg.data, output: outDir, mode, sr, modelsDir: cfg.modelsDir, log });
  return {
    overrides: { data: outDir },
    images: [path.join(outDir, 'boxes.png')],
    notes: {
      birdsFoundOn256pxCopies: `${r.copy.found}/${r.copy.images}`,
      birdsFoundOnUpscaledTest: `${r.upscaled.found}/${r.upscaled.images}`,
      noBirdFallbacks: r.written.fallback,
      detectSeconds: Math.round(r.detectSeconds),
      cropSeconds: Math.round(r.cropSeconds),
    },
  };
};
