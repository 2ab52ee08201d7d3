import { augmentSchema } from '../augment/pipeline.js';
import { mergeOptions, readConfigFile, validateConfig } from '../util/config-file.js';
import { UserError } from '../util/errors.js';
import { BUDGET_MAX_EPOCHS, keyProblems, trainConfigSchema, type TrainConfig } from './config.js';

const AUGMENT_KEYS = Object.keys(augmentSchema.shape);

/**
 * Builds the train config from options as `plumage train` gets them (flags, `config`: a YAML/JSON file, augment keys
 * at the top level or under `augment`): the recipe's defaults <- config file <- CLI flags; keys a recipe does not use are errors. */
export function resolveTrainConfig(flags: Record<string, unknown>): TrainConfig {
  const { config, ...rest } = flags;
  const fromFile = typeof config === 'string' ? readConfigFile(config) : {};
  const augment: Record<string, unknown> = {};
  const top: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (v === undefined) continue;
    if (AUGMENT_KEYS.includes(k)) augment[k] = v;
    else top[k] = v;
  }
  const merged = mergeOptions(fromFile, top, Object.keys(augment).length ? { augment } : {});
  merged.recipe ??= 'scratch';
  // With a time budget and no epoch count, the budget decides how many epochs run (the recipe's default epochs would
  // end a 20-minute job early on a fast machine); pseudo-labelling keeps the default, since its start is a fraction of it.
  if (merged.epochs === undefined && Number(merged.timeBudgetMin) > 0 && !(Number(merged.pseudoLabel) > 0)) merged.epochs = BUDGET_MAX_EPOCHS;
  const source = typeof config === 'string' ? `${config} + command line` : 'command line';
  const problems = keyProblems(merged);
  if (problems.length) {
    // Report the keys the recipe does not take together with the bad values of the keys it does.
    const known = Object.fromEntries(Object.entries(merged).filter(([k]) => !problems.some((p) => p.startsWith(`${k}:`))));
    const parsed = trainConfigSchema.safeParse(known);
    const values = parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new UserError(`invalid options (${source}):\n${[...problems, ...values].map((p) => `  ${p}`).join('\n')}`);
  }
  return validateConfig(trainConfigSchema, merged, source);
}

