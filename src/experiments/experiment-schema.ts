import { z } from 'zod';

/** Names of variants (and of the experiment): they become folder names. */
export const variantName = z.string().regex(/^[\w.-]+$/, 'names use letters, digits, _ . -');

/** Super-resolution methods a preprocessing step may name (the ESRGAN models from npm, sharp's resamplers). */
export const srMethod = z.enum(['esrgan-slim', 'esrgan-medium', 'esrgan-thick', 'bicubic', 'lanczos']);

/**
 * A variant's preprocessing step, run on its data before training (src/experiments/preprocess-hook.ts):
 * `detect` crops the bird (the seed's four crop modes, optionally super-resolving each crop), `sr` upscales whole
 * images, `on` says which images it applies to (train, val, test; default all of them).
 */
export const preprocessSchema = z
  .object({
    detect: z
      .object({
        mode: z.enum(['contour', 'pad', 'keep-aspect', 'resize']),
        /** Super-resolve each crop (the seed's suggested fix: upscale after detection). */
        sr: srMethod.optional(),
      })
      .strict()
      .optional(),
    sr: srMethod.optional(),
    /** Upscaling factor for `sr` (the models come as x2, x3, x4). */
    scale: z.number().int().min(2).max(4).optional(),
    on: z.array(z.enum(['train', 'val', 'test'])).min(1).default(['train', 'val', 'test']),
  })
  .strict()
  .refine((p) => p.detect !== undefined || p.sr !== undefined, { message: 'a preprocess step needs detect and/or sr' });
export type PreprocessSpec = z.infer<typeof preprocessSchema>;

export const variantSchema = z
  .object({
    description: z.string().optional(),
    /** Training-config keys deep-merged over the experiment's base config (validated like a train config file). */
    overrides: z.record(z.string(), z.unknown()).default({}),
    preprocess: preprocessSchema.optional(),
    /**
     * A row that trains nothing: the soft vote (mean probabilities) of these variants' runs, fold by fold, on their
     * shared validation split and test set; computed after they finish.
     */
    vote: z.array(variantName).min(2, 'a vote needs at least two variants').optional(),
  })
  .strict()
  .refine((v) => v.vote === undefined || (Object.keys(v.overrides).length === 0 && v.preprocess === undefined), {
    message: 'a vote variant trains nothing: it takes no overrides or preprocess',
  });
export type VariantSpec = z.infer<typeof variantSchema>;

/** An experiment file: a base training config plus named variants, optionally k-fold. */
export const experimentSchema = z
  .object({
    /** Experiment name (folder under the base config's `project`); default: the file's base name. */
    name: variantName.optional(),
    description: z.string().optional(),
    base: z.record(z.string(), z.unknown()).default({}),
    /** k-fold cross-validation: every variant trains `folds` times (0 or 1 = the base config's single split). */
    folds: z.number().int().min(0).default(0),
    /**
     * Measurements the report shows beside the table (e.g. the SR quality table, the detector's and box model's IoU):
     * Markdown files (embedded) and PNGs (inlined), paths relative to the working directory like `base.data`.
     */
    appendix: z.array(z.string().regex(/\.(md|png)$/i, 'appendix files are .md or .png')).default([]),
    /** Defaults of --queue / --queue-name (the flags override them). */
    queue: z.string().optional(),
    queueName: z.string().optional(),
    variants: z.record(variantName, variantSchema.nullable().transform((v) => v ?? variantSchema.parse({}))).refine((v) => Object.keys(v).length > 0, { message: 'at least one variant' }),
  })
  .strict();
export type ExperimentSpec = z.infer<typeof experimentSchema>;
