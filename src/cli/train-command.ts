import { Command, Option } from 'commander';
import { augmentSchema } from '../augment/pipeline.js';
import { recipesWithKey, RECIPES } from '../train/config.js';
import { resolveTrainConfig } from '../train/resolve-config.js';
import { runTraining } from '../train/run-training.js';
import { parseInteger, parseNumber, parsePair } from './parse-number.js';

const AUGMENT_KEYS = Object.keys(augmentSchema.shape);
const list = (v: string) => v.split(',').map((s) => s.trim()).filter(Boolean);
const camel = (flag: string) => flag.replace(/^--(no-)?/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The recipes an option belongs to, for --help: "[full, partial]" unless every recipe has it. */
function tag(key: string): string {
  const rs = recipesWithKey(key);
  return rs.length === RECIPES.length || rs.length === 0 ? '' : ` [${rs.join(', ')}]`;
}

type Parser = (v: string) => unknown;
const OPTIONS: [string, string, Parser?][] = [
  ['--recipe <name>', `scratch (default) | full | partial | probe`],
  ['--data <dir>', 'DACON folder with train.csv (and test.csv), a labelled CSV, or an ImageFolder root (default ../shared/data/birds25)'],
  ['--val-data <path>', 'labelled validation CSV/folder (default: stratified split of --data)'],
  ['--val-fraction <f>', 'validation fraction of the stratified split (default 0.1)', parseNumber],
  ['--folds <k>', 'stratified k-fold: number of folds (0 = plain split)', parseInteger],
  ['--fold <i>', 'which fold is the validation set', parseInteger],
  ['--limit <n>', 'use at most n training images, stratified (0 = all)', parseInteger],
  ['--model <id>', 'architecture (scratch; default resnet-mini) or pretrained backbone (default mobilenetv2-inat-birds); see `plumage models list`'],
  ['--image-size <px>', "training input size (default: the model's; 128 for MobileNetV2)", parseInteger],
  ['--eval-image-size <px>', 'input size for validation/test predictions (default --image-size)', parseInteger],
  ['--epochs <n>', 'maximum epochs (defaults: scratch 30, full 5, partial 1, probe 30; with --time-budget-min and no --epochs the budget decides, up to 100)', parseInteger],
  ['--time-budget-min <m>', 'minutes for the whole job: epochs planned from the steady-state step time (0 = none)', parseNumber],
  ['--batch-size <n>', 'batch size (defaults: scratch 64, full/partial 32, probe 256)', parseInteger],
  ['--accumulate <n>', 'gradient accumulation steps (default 1)', parseInteger],
  ['--lr <lr>', 'peak learning rate of AdamW (defaults: scratch 2e-3, others 1e-3 for the new head)', parseNumber],
  ['--backbone-lr-scale <f>', 'learning-rate multiplier of the pretrained layers (default 0.1)', parseNumber],
  ['--weight-decay <wd>', 'decoupled weight decay (defaults: scratch 0.05, full/partial 0 (new head only), probe 1e-3)', parseNumber],
  ['--drop-path-rate <p>', 'stochastic depth rate of transformer blocks (default: the model\'s)', parseNumber],
  ['--layer-decay <f>', 'layer-wise lr decay for transformers (1 = off)', parseNumber],
  ['--scheduler <name>', 'cosine | plateau | constant (default cosine)'],
  ['--warmup-epochs <n>', 'linear warmup epochs for cosine (defaults: scratch 1, others 0)', parseNumber],
  ['--min-lr <lr>', 'lr floor for cosine and plateau (defaults: scratch 1e-6, others 0)', parseNumber],
  ['--plateau-factor <f>', 'ReduceLROnPlateau factor (default 0.7)', parseNumber],
  ['--plateau-patience <n>', 'ReduceLROnPlateau patience in epochs (default 2)', parseInteger],
  ['--early-stop-patience <n>', 'early stopping patience on val macro F1 (default 10)', parseInteger],
  ['--early-stop-min-delta <d>', 'minimum F1 improvement that resets patience (default 0)', parseNumber],
  ['--label-smoothing <eps>', 'label smoothing (default 0.1)', parseNumber],
  ['--hflip', 'random horizontal flip (default on)'],
  ['--no-hflip', 'disable random horizontal flip'],
  ['--crop-scale <lo,hi>', 'random-resized-crop area range (default scratch 0.6,1; full 1,1 = off)', parsePair],
  ['--brightness <f>', 'ColorJitter brightness (default scratch 0.2, full 0)', parseNumber],
  ['--contrast <f>', 'ColorJitter contrast (default scratch 0.2, full 0)', parseNumber],
  ['--saturation <f>', 'ColorJitter saturation (default scratch 0.2, full 0)', parseNumber],
  ['--cutmix <p>', 'probability of CutMix per batch, soft labels (default 0)', parseNumber],
  ['--cutmix-alpha <a>', 'CutMix Beta(a, a) (default 1)', parseNumber],
  ['--mixup <p>', 'probability of MixUp per batch (when CutMix did not run), soft labels (default 0)', parseNumber],
  ['--mixup-alpha <a>', 'MixUp Beta(a, a) (default 0.4)', parseNumber],
  ['--upscale-prob <p>', 'probability of a training view from the 256px copy (default scratch 0, full 0.5)', parseNumber],
  ['--upscale-teacher <w>', "train on both views of every image and pull the 64px prediction toward its 256px copy's (KL weight; 0 = off)", parseNumber],
  ['--upscale-teacher-temp <t>', 'temperature of that KL term (default 2)', parseNumber],
  ['--pseudo-label <p>', 'add test images predicted with probability >= p as pseudo-labelled training samples (0 = off)', parseNumber],
  ['--pseudo-after <n>', 'epochs before pseudo-labelling (default half of them)', parseInteger],
  ['--blocks <k>', 'number of last MobileNetV2 blocks fine-tuned on cached activations of the ones below (default 14 of 18)', parseInteger],
  ['--train-views <views>', 'training views, each a sample per epoch: image, image.flip, upscale, upscale.flip', list],
  ['--head <kind>', 'linear | mlp (default linear)'],
  ['--hidden <n>', 'MLP head hidden units (default 512)', parseInteger],
  ['--seed <n>', 'seed for split, shuffling, augmentation, dropout (default 42)', parseInteger],
  ['--split-seed <n>', 'seed of the validation split and folds (default: --seed)', parseInteger],
  ['--backend <name>', 'auto | torch | wasm | cpu (default auto: torch when built, else wasm)'],
  ['--name <name>', 'run folder name under --project (default <recipe>, <recipe>2, ...; scratch: train, train2, ...)'],
  ['--project <dir>', 'folder holding runs (default runs)'],
  ['--resume', 'continue the run --name from its last checkpoint'],
  ['--exist-ok', 'reuse an existing run folder'],
  ['--no-tta', 'no horizontal-flip test-time augmentation for the final report and submission'],
  ['--no-predict-test', 'do not predict test.csv after training'],
  ['--models-dir <dir>', 'pretrained models folder (default: the cache; ../shared/models is found automatically)'],
];

export function trainCommand(): Command {
  const cmd = new Command('train')
    .description(
      'train a classifier into runs/<name>/ (checkpoints, metrics, learning curve, report, submission). Recipes: scratch (an architecture from random init), full (fine-tune a pretrained backbone end to end), partial (upper blocks on cached activations of the frozen lower ones), probe (a head on cached embeddings). [recipes] after an option: the recipes that use it; any other recipe refuses it.',
    )
    .option('--config <file>', 'YAML or JSON file with any of these options as camelCase keys (flags override it)');
  for (const [flag, desc, parse] of OPTIONS) {
    const key = camel(flag.split(' ')[0]!);
    const o = new Option(flag, desc + tag(AUGMENT_KEYS.includes(key) ? 'augment' : key));
    if (parse) o.argParser(parse as (v: string, prev: unknown) => unknown);
    cmd.addOption(o);
  }
  // Flags the user did not type must not override the config file: commander's implicit defaults of --no-* are dropped.
  return cmd.action(async (_flags: Record<string, unknown>, command: Command) => {
    const flags: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(command.opts())) if (command.getOptionValueSource(k) === 'cli') flags[k] = v;
    const cfg = resolveTrainConfig(flags);
    const s = await runTraining(cfg);
    console.log(`val macro F1 ${s.valF1.toFixed(4)}  accuracy ${s.valAccuracy.toFixed(4)}  best epoch ${s.fit.bestEpoch}  (${s.wallSeconds.toFixed(0)} s: setup ${s.setupSeconds.toFixed(0)}, training ${s.trainSeconds.toFixed(0)}, predictions ${s.predictSeconds.toFixed(0)}; backend ${s.backend})`);
    console.log(`run folder: ${s.runDir}`);
  });
}
