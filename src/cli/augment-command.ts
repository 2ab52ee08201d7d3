import path from 'node:path';
import { Command } from 'commander';
import { augmentSchema } from '../augment/pipeline.js';
import { augmentPreviewPng } from '../augment/preview.js';
import { loadLabelledDataset } from '../data/load-dataset.js';
import { writeFileAtomic } from '../util/atomic-write.js';
import { UserError } from '../util/errors.js';
import { mergeOptions, readConfigFile, validateConfig } from '../util/config-file.js';
import { parseInteger, parseNumber, parsePair } from './parse-number.js';

const AUGMENT_KEYS = Object.keys(augmentSchema.shape);

export function augmentCommand(): Command {
  return new Command('augment')
    .description('show what the trainer feeds the model: --preview writes a PNG grid of one seeded, augmented training batch (same code as training)')
    .option('--preview', 'write the preview grid (the only action so far)')
    .option('--config <file>', "YAML/JSON file: a train config (its `augment:`, `data`, `imageSize`, `seed` are used) or the augment keys themselves")
    .option('--data <dir>', 'DACON folder / labelled CSV / ImageFolder (default ../shared/data/birds25)')
    .option('--n <count>', 'images in the grid (default 16)', parseInteger)
    .option('--seed <s>', 'random seed (default 0)', parseInteger)
    .option('--image-size <px>', 'model input size (default 64)', parseInteger)
    .option('--output <file>', 'PNG to write (default augment_preview.png)')
    .option('--hflip <bool>', 'random horizontal flips (true/false)', (v) => v === 'true')
    .option('--crop-scale <lo,hi>', 'random-resized-crop area range', parsePair)
    .option('--brightness <f>', 'ColorJitter brightness', parseNumber)
    .option('--contrast <f>', 'ColorJitter contrast', parseNumber)
    .option('--saturation <f>', 'ColorJitter saturation', parseNumber)
    .option('--cutmix <p>', 'probability of CutMix per batch', parseNumber)
    .option('--cutmix-alpha <a>', 'CutMix Beta(a, a)', parseNumber)
    .option('--mixup <p>', 'probability of MixUp per batch (when CutMix did not run)', parseNumber)
    .option('--mixup-alpha <a>', 'MixUp Beta(a, a)', parseNumber)
    .option('--upscale-prob <p>', 'probability of drawing a view from the 256px copy', parseNumber)
    .action(async (flags: Record<string, unknown>) => {
      if (!flags.preview) throw new UserError('augment: nothing to do; pass --preview');
      const file = typeof flags.config === 'string' ? readConfigFile(flags.config) : {};
      const fileAugment = (file.augment ?? Object.fromEntries(Object.entries(file).filter(([k]) => AUGMENT_KEYS.includes(k)))) as Record<string, unknown>;
      const flagAugment = Object.fromEntries(Object.entries(flags).filter(([k]) => AUGMENT_KEYS.includes(k)));
      const augment = validateConfig(augmentSchema, mergeOptions(fileAugment, flagAugment), typeof flags.config === 'string' ? `${flags.config} + command line` : 'command line');
      const data = (flags.data ?? file.data ?? '../shared/data/birds25') as string;
      const n = (flags.n ?? 16) as number;
      if (n < 1) throw new UserError(`--n: must be at least 1 (got ${n})`);
      const seed = (flags.seed ?? file.seed ?? 0) as number;
      const inputSize = (flags.imageSize ?? file.imageSize ?? 64) as number;
      const ds = loadLabelledDataset(data);
      const { png, mix } = await augmentPreviewPng(ds, { n, seed, inputSize, augment });
      const out = path.resolve((flags.output as string | undefined) ?? 'augment_preview.png');
      writeFileAtomic(out, png);
      console.log(`wrote ${out} (${Math.min(n, ds.samples.length)} images, seed ${seed}, batch mix: ${mix})`);
    });
}
