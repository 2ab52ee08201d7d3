import { z } from 'zod';
import { augmentSchema } from '../augment/pipeline.js';

/**
 * Everything `plumage train` accepts, in one place: a discriminated union on `recipe`. Every recipe has the keys
 * it uses and its own defaults; a key a recipe does not use is an error that names it. The same camelCase keys are
 * used in config files, as CLI flags (kebab-case) and in each run folder's config.yaml.
 *
 *   scratch  train an architecture from random initialisation (default: resnet-mini)
 *   full     fine-tune a pretrained backbone end to end (default: mobilenetv2-inat-birds)
 *   partial  fine-tune the upper blocks on cached activations of the frozen lower ones
 *   probe    train a linear / MLP head on cached embeddings of the frozen backbone
 */
export const RECIPES = ['scratch', 'full', 'partial', 'probe'] as const;
export type RecipeName = (typeof RECIPES)[number];

const size = z.number().int().min(16).max(1024);
const viewName = z.string().regex(/^(image|upscale)(\.flip)?$/, 'views are image, image.flip, upscale, upscale.flip');

/** The epoch cap of a time-budgeted run given no `epochs`: the budget, not the recipe's default, ends it. */
export const BUDGET_MAX_EPOCHS = 100;

/** Keys shared by every recipe, with the recipe's own defaults. */
function common(d: { model: string; epochs: number; batchSize: number; lr: number; weightDecay: number; warmupEpochs: number; minLr: number }) {
  return {
    data: z.string().default('../shared/data/birds25'),
    /** A labelled validation CSV/folder; when absent a stratified split of the training data is used. */
    valData: z.string().optional(),
    valFraction: z.number().gt(0).lt(1).default(0.1),
    /** k-fold: with folds > 1, `fold` picks which fold is the validation set. */
    folds: z.number().int().min(0).default(0),
    fold: z.number().int().min(0).default(0),
    /** Limit the number of training images (stratified; quick experiments); 0 = all. */
    limit: z.number().int().min(0).default(0),
    /** Architecture or pretrained backbone id (`plumage models list`). */
    model: z.string().default(d.model),
    /** Training input size in pixels (default: the architecture's). */
    imageSize: size.optional(),
    /** Input size for validation/test predictions (default: imageSize). */
    evalImageSize: size.optional(),
    epochs: z.number().int().min(1).default(d.epochs),
    /** Minutes for the whole job (training, per-epoch validation, final predictions); 0 = no limit. */
    timeBudgetMin: z.number().min(0).default(0),
    batchSize: z.number().int().min(1).default(d.batchSize),
    accumulate: z.number().int().min(1).default(1),
    lr: z.number().gt(0).default(d.lr),
    weightDecay: z.number().min(0).default(d.weightDecay),
    scheduler: z.enum(['cosine', 'plateau', 'constant']).default('cosine'),
    warmupEpochs: z.number().min(0).default(d.warmupEpochs),
    minLr: z.number().min(0).default(d.minLr),
    plateauFactor: z.number().gt(0).lt(1).default(0.7),
    plateauPatience: z.number().int().min(0).default(2),
    earlyStopPatience: z.number().int().min(1).default(10),
    earlyStopMinDelta: z.number().min(0).default(0),
    labelSmoothing: z.number().min(0).lt(1).default(0.1),
    seed: z.number().int().default(42),
    /** Seed of the validation split / folds (default: seed), so runs that differ in `seed` can share a split. */
    splitSeed: z.number().int().optional(),
    backend: z.enum(['auto', 'wasm', 'cpu', 'torch']).default('auto'),
    name: z.string().regex(/^[\w.-]+$/, 'run names use letters, digits, _ . -').optional(),
    project: z.string().default('runs'),
    resume: z.boolean().default(false),
    existOk: z.boolean().default(false),
    /** Horizontal-flip test-time augmentation for the final report and submission. */
    tta: z.boolean().default(true),
    /** Predict the test set after training when the data folder has a test.csv. */
    predictTest: z.boolean().default(true),
    /** Folder of pretrained weights (default: the cache; ../shared/models is found automatically). */
    modelsDir: z.string().optional(),
  };
}

const pretrained = 'mobilenetv2-inat-birds';
const transferOnly = {
  /** Learning-rate multiplier of the pretrained layers (the new head gets `lr`). */
  backboneLrScale: z.number().gt(0).default(0.1),
};

export const scratchSchema = z
  .object({
    recipe: z.literal('scratch'),
    ...common({ model: 'resnet-mini', epochs: 30, batchSize: 64, lr: 2e-3, weightDecay: 0.05, warmupEpochs: 1, minLr: 1e-6 }),
    /** Layer-wise lr decay for transformers (1 = off): block i of n trains at lr * layerDecay^(n - i). */
    layerDecay: z.number().gt(0).max(1).default(1),
    /** Stochastic depth rate of transformer blocks (default: the model's own). */
    dropPathRate: z.number().min(0).lt(1).optional(),
    augment: augmentSchema.default(augmentSchema.parse({})),
  })
  .strict();

/** The full recipe's augmentation: flips, half of the views from the 256px copy, no crop, no jitter. */
const fullAugment = augmentSchema.extend({
  cropScale: augmentSchema.shape.cropScale.removeDefault().default([1, 1]),
  brightness: augmentSchema.shape.brightness.removeDefault().default(0),
  contrast: augmentSchema.shape.contrast.removeDefault().default(0),
  saturation: augmentSchema.shape.saturation.removeDefault().default(0),
  upscaleProb: augmentSchema.shape.upscaleProb.removeDefault().default(0.5),
});

export const fullSchema = z
  .object({
    recipe: z.literal('full'),
    ...common({ model: pretrained, epochs: 5, batchSize: 32, lr: 1e-3, weightDecay: 0, warmupEpochs: 0, minLr: 0 }),
    ...transferOnly,
    augment: fullAugment.default(fullAugment.parse({})),
    /** Pseudo-label test images predicted with at least this probability (0 = off). */
    pseudoLabel: z.number().min(0).lt(1).default(0),
    /** Epochs trained before pseudo-labelling (default: half the epochs, rounded up). */
    pseudoAfter: z.number().int().min(1).optional(),
    /** Weight of the cross-resolution distillation term (the 256px copy teaches the 64px view; 0 = off). */
    upscaleTeacher: z.number().min(0).default(0),
    /** Softmax temperature of that term. */
    upscaleTeacherTemp: z.number().positive().default(2),
  })
  .strict();

export const partialSchema = z
  .object({
    recipe: z.literal('partial'),
    ...common({ model: pretrained, epochs: 1, batchSize: 32, lr: 1e-3, weightDecay: 0, warmupEpochs: 0, minLr: 0 }),
    ...transferOnly,
    /** Number of last backbone blocks fine-tuned; the ones below are frozen and their activations cached. */
    blocks: z.number().int().min(1).default(14),
    /** Views of every training image, each a sample per epoch (image = the 64px file, upscale = its 256px copy). */
    trainViews: z.array(viewName).min(1).default(['image', 'upscale', 'image.flip', 'upscale.flip']),
  })
  .strict();

export const probeSchema = z
  .object({
    recipe: z.literal('probe'),
    ...common({ model: pretrained, epochs: 30, batchSize: 256, lr: 1e-3, weightDecay: 1e-3, warmupEpochs: 0, minLr: 0 }),
    head: z.enum(['linear', 'mlp']).default('linear'),
    /** MLP head: hidden units. */
    hidden: z.number().int().min(1).default(512),
    trainViews: z.array(viewName).min(1).default(['image', 'upscale']),
  })
  .strict();

export const trainConfigSchema = z.discriminatedUnion('recipe', [scratchSchema, fullSchema, partialSchema, probeSchema]);

export type TrainConfig = z.infer<typeof trainConfigSchema>;
export type ScratchConfig = z.infer<typeof scratchSchema>;
export type FullConfig = z.infer<typeof fullSchema>;
export type PartialConfig = z.infer<typeof partialSchema>;
export type ProbeConfig = z.infer<typeof probeSchema>;

const SCHEMAS = { scratch: scratchSchema, full: fullSchema, partial: partialSchema, probe: probeSchema } as const;

/** The schema of one recipe (for tools that inspect its keys). */
export function schemaFor(recipe: RecipeName): (typeof SCHEMAS)[RecipeName] {
  return SCHEMAS[recipe];
}

/** The recipes that accept a key (for messages and --help). */
export function recipesWithKey(key: string): RecipeName[] {
  return RECIPES.filter((r) => key in SCHEMAS[r].shape);
}

/** Keys of older plumage versions, with their new names. */
export const RENAMED_KEYS: Record<string, string> = {
  backbone: 'model',
  evalSize: 'evalImageSize',
  inputSize: 'imageSize',
  res: 'imageSize',
  size: 'imageSize',
  hrTeacher: 'upscaleTeacher',
  hrTeacherTemp: 'upscaleTeacherTemp',
  evalViews: 'tta',
};

/**
 * Problems a schema error would report poorly: renamed keys, and keys that belong to another recipe. Returns one
 * message per problem (empty when none).
 */
export function keyProblems(options: Record<string, unknown>): string[] {
  const recipe = (options.recipe ?? 'scratch') as string;
  if (!RECIPES.includes(recipe as RecipeName)) return [`recipe: '${recipe}' is not a recipe (${RECIPES.join(', ')})`];
  const shape = SCHEMAS[recipe as RecipeName].shape as Record<string, unknown>;
  const out: string[] = [];
  for (const key of Object.keys(options)) {
    if (key in shape || key === 'recipe') continue;
    if (RENAMED_KEYS[key]) out.push(`${key}: renamed to '${RENAMED_KEYS[key]}'${key === 'evalViews' ? ' (flip TTA on/off)' : ''}`);
    else if (recipesWithKey(key).length) out.push(`${key}: not an option of recipe '${recipe}' (only ${recipesWithKey(key).join(', ')})`);
    else out.push(`${key}: unknown option`);
  }
  return out;
}
