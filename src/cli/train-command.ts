import { Command } from 'commander';
import { augmentSchema } from '../augment/pipeline.js';
import { trainConfigSchema, type TrainConfig } from '../train/config.js';
import { runTraining } from '../train/run-training.js';
import { runTransferTraining } from './transfer-train.js';
import { mergeOptions, readConfigFile, validateConfig } from './config-file.js';
import { parseInteger, parseNumber, parsePair } from './parse-number.js';

const AUGMENT_KEYS = Object.keys(augmentSchema.shape);
/**
 * The fine-tuning recipes' own defaults where they differ from training from scratch (what their benchmark rows
 * measured: `full128`, `deep128a`); the file or flags override each. Adam on the new head at 1e-3, pretrained layers at
 * 0.1x; partial's 128px and views (lr, hr and their flips) come from src/transfer.
 */
const RECIPE_DEFAULTS = {
  partial: { epochs: 1, batchSize: 32, lr: 1e-3, blocks: 14 },
  full: { epochs: 5, batchSize: 32, lr: 1e-3 },
} as const;
/** The full recipe's augmentation unless the config file or flags set it: flips only (no crop, no jitter). */
const FULL_RECIPE_AUGMENT = { cropScale: [1, 1], brightness: 0, contrast: 0, saturation: 0 };
const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);

/** Builds the train config: schema defaults <- config file <- CLI flags. */
export function resolveTrainConfig(flags: Record<string, unknown>): TrainConfig {
  const { config, ...rest } = flags;
  const fromFile = typeof config === 'string' ? readConfigFile(config) : {};
  const augment: Record<string, unknown> = {};
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (AUGMENT_KEYS.includes(k)) augment[k] = v;
    else top[k] = v;
  }
  const merged = mergeOptions(fromFile, top, Object.keys(augment).length ? { augment } : {});
  const recipe = merged.recipe;
  if (recipe === 'partial' || recipe === 'full') {
    for (const [k, v] of Object.entries(RECIPE_DEFAULTS[recipe])) merged[k] ??= v;
  }
  if (recipe === 'full') {
    merged.augment = { ...FULL_RECIPE_AUGMENT, ...((merged.augment as Record<string, unknown> | undefined) ?? {}) };
  }
  return validateConfig(trainConfigSchema, merged, typeof config === 'string' ? `${config} + command line` : 'command line');
}

export function trainCommand(): Command {
  return new Command('train')
    .description('train a classifier on a DACON folder (train.csv) or an ImageFolder; writes runs/<name>/ with checkpoints, metrics, report and submission')
    .option('--config <file>', 'YAML or JSON file with any of these options (flags override it)')
    .option('--data <dir>', 'DACON folder with train.csv (and test.csv), a labelled CSV, or an ImageFolder root (default ../shared/data/birds25)')
    .option('--val-data <path>', 'labelled validation CSV/folder (default: stratified split of --data)')
    .option('--val-fraction <f>', 'validation fraction of the stratified split (default 0.1)', parseNumber)
    .option('--folds <k>', 'stratified k-fold: number of folds (0 = plain split)', parseInteger)
    .option('--fold <i>', 'which fold is the validation set', parseInteger)
    .option('--model <name>', 'architecture (see `plumage models list`; default resnet-mini)')
    .option('--image-size <px>', 'input size in pixels (default: the architecture\'s)', parseInteger)
    .option('--eval-size <px>', 'full recipe: input size for validation/test predictions (default: --image-size)', parseInteger)
    .option('--pseudo-label <p>', 'full recipe: add test images predicted with probability >= p as pseudo-labelled training samples (0 = off)', parseNumber)
    .option('--pseudo-after <n>', 'full recipe: epochs before pseudo-labelling (default half of them)', parseInteger)
    .option('--hr-teacher <w>', 'full recipe: train on both views of every image and pull the 64px prediction toward its 256px copy\'s (KL weight; 0 = off)', parseNumber)
    .option('--hr-teacher-temp <t>', 'full recipe: temperature of that KL term (default 2)', parseNumber)
    .option('--epochs <n>', 'maximum epochs (default 30; --recipe partial 1 (each a pass over every training view), full 5)', parseInteger)
    .option('--time-budget-min <m>', 'stop starting new epochs after this many minutes (0 = none)', parseNumber)
    .option('--batch-size <n>', 'batch size (default 64; --recipe partial/full 32)', parseInteger)
    .option('--accumulate <n>', 'gradient accumulation steps (default 1)', parseInteger)
    .option('--lr <lr>', 'peak learning rate for AdamW (default 2e-3; --recipe partial/full: Adam, 1e-3 for the new head)', parseNumber)
    .option('--backbone-lr-scale <f>', 'partial/full recipe: learning-rate multiplier of the pretrained layers (default 0.1)', parseNumber)
    .option('--weight-decay <wd>', 'decoupled weight decay (default 0.05)', parseNumber)
    .option('--scheduler <name>', 'cosine | plateau | constant (default cosine)')
    .option('--warmup-epochs <n>', 'linear warmup epochs for cosine (default 1)', parseNumber)
    .option('--min-lr <lr>', 'lr floor for cosine and plateau (default 1e-6)', parseNumber)
    .option('--plateau-factor <f>', 'ReduceLROnPlateau factor (default 0.7)', parseNumber)
    .option('--plateau-patience <n>', 'ReduceLROnPlateau patience in epochs (default 2)', parseInteger)
    .option('--early-stop-patience <n>', 'early stopping patience on val macro F1 (default 10)', parseInteger)
    .option('--early-stop-min-delta <d>', 'minimum F1 improvement that resets patience (default 0)', parseNumber)
    .option('--label-smoothing <eps>', 'label smoothing (default 0.1)', parseNumber)
    .option('--hflip', 'random horizontal flip (default on)')
    .option('--no-hflip', 'disable random horizontal flip')
    .option('--crop-scale <lo,hi>', 'random-resized-crop area range (default 0.6,1; --recipe full 1,1; 1,1 disables)', parsePair)
    .option('--brightness <f>', 'ColorJitter brightness (default 0.2; --recipe full 0)', parseNumber)
    .option('--contrast <f>', 'ColorJitter contrast (default 0.2; --recipe full 0)', parseNumber)
    .option('--saturation <f>', 'ColorJitter saturation (default 0.2; --recipe full 0)', parseNumber)
    .option('--cutmix <p>', 'probability of CutMix per batch, soft labels (default 0)', parseNumber)
    .option('--cutmix-alpha <a>', 'CutMix Beta(a, a) (default 1)', parseNumber)
    .option('--upscale-prob <p>', 'probability of drawing a view from the 256px copy (default 0)', parseNumber)
    .option('--limit <n>', 'use at most n training images, stratified (0 = all)', parseInteger)
    .option('--seed <n>', 'seed for split, shuffling, augmentation, dropout (default 42)', parseInteger)
    .option('--backend <name>', 'auto | torch | wasm | cpu (default auto: torch when built, else wasm)')
    .option('--name <name>', 'run folder name under --project (default train, train2, ...)')
    .option('--project <dir>', 'folder holding runs (default runs)')
    .option('--resume', 'continue the run --name from its last checkpoint')
    .option('--exist-ok', 'reuse an existing run folder')
    .option('--no-tta', 'no horizontal-flip test-time augmentation for the final report and submission')
    .option('--no-predict-test', 'do not predict test.csv after training')
    .option('--recipe <name>', 'train a pretrained backbone instead of --model: probe (frozen, cached embeddings) | partial (last --blocks) | full')
    .option('--backbone <ids>', 'pretrained backbone id(s) for --recipe, comma-separated (probe concatenates them)', list)
    .option('--blocks <k>', 'partial: number of last MobileNetV2 blocks to fine-tune on cached activations of the ones below (default 14 of 18)', parseInteger)
    .option('--head <kind>', 'probe head: linear | mlp')
    .option('--train-views <views>', "probe/partial training views, e.g. lr,lr.flip,hr,hr.flip (hr = the 256px copy; partial default all four)", list)
    .option('--eval-views <views>', 'views soft-voted at validation/test time, e.g. lr,lr.flip', list)
    .option('--models-dir <dir>', 'pretrained models folder (default: the cache; ../shared/models is found automatically)')
    .action(async (flags: Record<string, unknown>) => {
      const cfg = resolveTrainConfig(flags);
      if (cfg.recipe) {
        await runTransferTraining({ ...cfg, recipe: cfg.recipe });
        return;
      }
      const s = await runTraining(cfg);
      console.log(`val macro F1 ${s.valF1.toFixed(4)}  accuracy ${s.valAccuracy.toFixed(4)}  best epoch ${s.fit.bestEpoch}  (${s.wallSeconds.toFixed(0)} s, backend ${s.backend})`);
      console.log(`run folder: ${s.runDir}`);
    });
}
