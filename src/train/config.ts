import { z } from 'zod';
import { augmentSchema } from '../augment/pipeline.js';

/** Everything `plumage train` accepts; the same keys work in a YAML/JSON config file and as CLI flags. */
export const trainConfigSchema = z
  .object({
    data: z.string().default('../shared/data/birds25'),
    /** A labelled validation CSV/folder; when absent a stratified split of the training data is used. */
    valData: z.string().optional(),
    valFraction: z.number().gt(0).lt(1).default(0.1),
    /** k-fold: with folds > 1, `fold` picks which fold is the validation set. */
    folds: z.number().int().min(0).default(0),
    fold: z.number().int().min(0).default(0),
    model: z.string().default('resnet-mini'),
    imageSize: z.number().int().min(16).max(512).optional(),
    /** Input size for validation/test predictions of --recipe full (default imageSize). */
    evalSize: z.number().int().min(16).max(512).optional(),
    /** --recipe full: pseudo-label test images predicted with at least this probability (0 = off). */
    pseudoLabel: z.number().min(0).lt(1).default(0),
    /** --recipe full: epochs trained before pseudo-labelling (default: half the planned epochs, rounded up). */
    pseudoAfter: z.number().int().min(1).optional(),
    /** --recipe full: weight of the cross-resolution distillation term (the 256px copy teaches the 64px view; 0 = off). */
    hrTeacher: z.number().min(0).default(0),
    /** --recipe full: softmax temperature of that term. */
    hrTeacherTemp: z.number().positive().default(2),
    /** --recipe full: learning-rate multiplier of the pretrained layers (the new head gets `lr`). */
    backboneLrScale: z.number().gt(0).default(0.1),
    epochs: z.number().int().min(1).default(30),
    /** Stop after this many minutes of training (checked at epoch ends); 0 = no limit. */
    timeBudgetMin: z.number().min(0).default(0),
    batchSize: z.number().int().min(1).default(64),
    accumulate: z.number().int().min(1).default(1),
    lr: z.number().gt(0).default(2e-3),
    weightDecay: z.number().min(0).default(0.05),
    scheduler: z.enum(['cosine', 'plateau', 'constant']).default('cosine'),
    warmupEpochs: z.number().min(0).default(1),
    minLr: z.number().min(0).default(1e-6),
    plateauFactor: z.number().gt(0).lt(1).default(0.7),
    plateauPatience: z.number().int().min(0).default(2),
    earlyStopPatience: z.number().int().min(1).default(10),
    earlyStopMinDelta: z.number().min(0).default(0),
    labelSmoothing: z.number().min(0).lt(1).default(0.1),
    augment: augmentSchema.default(augmentSchema.parse({})),
    /** Limit the number of training images (quick experiments); 0 = all. */
    limit: z.number().int().min(0).default(0),
    seed: z.number().int().default(42),
    backend: z.enum(['auto', 'wasm', 'cpu', 'torch']).default('auto'),
    name: z.string().regex(/^[\w.-]+$/, 'run names use letters, digits, _ . -').optional(),
    project: z.string().default('runs'),
    resume: z.boolean().default(false),
    existOk: z.boolean().default(false),
    tta: z.boolean().default(true),
    /** Predict the test set after training when the data folder has a test.csv. */
    predictTest: z.boolean().default(true),
    /** Pretrained-backbone recipe (src/transfer); when set, `model` is ignored and `backbone` is used. */
    recipe: z.enum(['probe', 'partial', 'full']).optional(),
    backbone: z.array(z.string()).min(1).default(['mobilenetv2-inat-birds']),
    blocks: z.number().int().min(1).optional(),
    head: z.enum(['linear', 'mlp']).optional(),
    trainViews: z.array(z.string()).optional(),
    evalViews: z.array(z.string()).optional(),
    modelsDir: z.string().optional(),
  })
  .strict();

export type TrainConfig = z.infer<typeof trainConfigSchema>;
