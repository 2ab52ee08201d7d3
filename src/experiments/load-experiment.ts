import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { mergeOptions } from '../util/config-file.js';
import { UserError } from '../util/errors.js';
import { experimentSchema, type PreprocessSpec } from './experiment-schema.js';
import { RECIPES, type RecipeName, schemaFor } from '../train/config.js';
import { resolveVariantConfig, supportsFolds, trainConfigSchema, type TrainConfig } from './train-variant.js';
import { unknownKeys } from './unknown-keys.js';

/** A run folder of an experiment: a variant, or one fold of it. */
export interface RunRef {
  variant: string;
  description?: string;
  /** Fold index when the experiment is k-fold. */
  fold?: number;
  /** `<variant>` or `<variant>-fold<k>`: the run folder's name. */
  runName: string;
  runDir: string;
}

/** A vote row's run (one per fold): the soft vote of the member variants' runs of the same fold. */
export interface PlannedVote extends RunRef {
  members: RunRef[];
}

/** One training run of an experiment: a variant, or one fold of it. */
export interface PlannedRun extends RunRef {
  /** Fully resolved and validated (absolute paths), with `project` = the experiment folder and `name` = runName. */
  cfg: TrainConfig;
  preprocess?: PreprocessSpec;
}

export interface ExperimentPlan {
  file: string;
  name: string;
  description?: string;
  /** `<project>/<experiment>`: where the run folders and the report go. */
  dir: string;
  folds: number;
  /** The file's `queue` / `queueName` (defaults of the CLI flags). */
  queue?: string;
  queueName?: string;
  /** Absolute paths of the report's appendix files (.md embedded, .png inlined). */
  appendix: string[];
  /** Variant names in file order. */
  variants: { name: string; description?: string; preprocess?: PreprocessSpec; vote?: string[] }[];
  /** The training runs (vote variants have none). */
  runs: PlannedRun[];
  /** The vote rows' runs, computed after the training runs. */
  votes: PlannedVote[];
}

/** Keys the runner sets itself; a base or an override that sets them is refused. */
const RESERVED: Record<string, string> = {
  name: 'the runner names each run folder <variant>[-fold<k>]',
  resume: 'the runner resumes an unfinished run by itself',
  existOk: 'the runner reuses its own run folders',
  fold: 'use the experiment\'s top-level `folds` (or --folds)',
  folds: 'use the experiment\'s top-level `folds` (or --folds)',
};
const PATH_KEYS = ['data', 'valData', 'project', 'modelsDir'] as const;

function readYaml(file: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read the experiment file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new UserError(`${file}: not valid ${file.endsWith('.json') ? 'JSON' : 'YAML'}: ${(err as Error).message}`);
  }
}

/** Checks one train-config block (the base, or base + a variant's overrides); errors name `who` and the key. */
function checkTrainBlock(file: string, who: string, block: Record<string, unknown>, merged: Record<string, unknown>): TrainConfig {
  for (const k of Object.keys(block)) {
    if (k in RESERVED) throw new UserError(`${file}: ${who}: key '${k}' is not allowed here (${RESERVED[k]})`);
  }
  const recipe = (merged.recipe ?? 'scratch') as RecipeName;
  if (!RECIPES.includes(recipe)) throw new UserError(`${file}: ${who}: recipe '${String(recipe)}' is not a recipe (${RECIPES.join(', ')})`);
  const unknown = unknownKeys(schemaFor(recipe), block);
  if (unknown.length) throw new UserError(`${file}: ${who}: unknown training option${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')} (see \`plumage train --help\`; nested keys such as augment.cutmix go in their block)`);
  const parsed = trainConfigSchema.safeParse({ recipe, ...merged });
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
    throw new UserError(`${file}: ${who}: invalid value: ${issues}`);
  }
  try {
    return resolveVariantConfig(merged);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${file}: ${who}: ${err.message}`);
    throw err;
  }
}

/**
 * Reads and validates an experiment file. Every variant (and fold) is merged and validated here, before anything
 * runs: a bad override is refused naming the variant and the key.
 */
export function loadExperiment(file: string, opts: { folds?: number; project?: string; only?: string[] } = {}): ExperimentPlan {
  const parsed = experimentSchema.safeParse(readYaml(file) ?? {});
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
    throw new UserError(`${file}: ${issues}`);
  }
  const spec = parsed.data;
  const name = spec.name ?? path.basename(file).replace(/\.(ya?ml|json)$/i, '');
  if (!/^[\w.-]+$/.test(name)) throw new UserError(`${file}: experiment name '${name}' must use letters, digits, _ . - (set \`name:\` in the file)`);
  const folds = opts.folds ?? spec.folds;
  if (!Number.isInteger(folds) || folds < 0) throw new UserError(`--folds: expected a whole number >= 0, got ${folds}`);
  const base = { ...spec.base };
  if (opts.project !== undefined) base.project = opts.project;
  checkTrainBlock(file, 'base', base, base);
  const only = opts.only;
  if (only) {
    const missing = only.filter((v) => !(v in spec.variants));
    if (missing.length) throw new UserError(`--only: no variant named ${missing.map((m) => `'${m}'`).join(', ')} in ${file} (it has ${Object.keys(spec.variants).join(', ')})`);
  }
  const project = path.resolve(String(base.project ?? schemaFor('scratch').shape.project.parse(undefined)));
  const dir = path.join(project, name);
  const runs: PlannedRun[] = [];
  const votes: PlannedVote[] = [];
  const variants: ExperimentPlan['variants'] = [];
  const foldList = folds > 1 ? [...Array(folds).keys()] : [undefined];
  const ref = (variant: string, description: string | undefined, fold: number | undefined): RunRef => {
    const runName = fold === undefined ? variant : `${variant}-fold${fold}`;
    return { variant, description, fold, runName, runDir: path.join(dir, runName) };
  };
  for (const [variant, v] of Object.entries(spec.variants)) {
    if (v.vote) {
      for (const m of v.vote) {
        if (!(m in spec.variants)) throw new UserError(`${file}: variant ${variant}: vote: no variant named '${m}'`);
        if (m === variant || spec.variants[m]!.vote) throw new UserError(`${file}: variant ${variant}: vote: '${m}' is ${m === variant ? 'the vote itself' : 'a vote'} (a vote combines trained variants)`);
      }
      if (new Set(v.vote).size !== v.vote.length) throw new UserError(`${file}: variant ${variant}: vote: a variant is named twice`);
      variants.push({ name: variant, description: v.description, vote: v.vote });
      if (only && !only.includes(variant)) continue;
      for (const fold of foldList) votes.push({ ...ref(variant, v.description, fold), members: v.vote.map((m) => ref(m, spec.variants[m]!.description, fold)) });
      continue;
    }
    if ('project' in v.overrides) throw new UserError(`${file}: variant ${variant}: key 'project' is not allowed in overrides (all runs of an experiment share <project>/${name})`);
    const merged = mergeOptions(base, v.overrides);
    const cfg0 = checkTrainBlock(file, `variant ${variant}`, v.overrides, merged);
    if (folds > 1 && cfg0.valData) throw new UserError(`${file}: variant ${variant}: valData cannot be combined with folds ${folds} (k-fold splits \`data\` itself)`);
    if (folds > 1 && !supportsFolds(cfg0)) throw new UserError(`${file}: variant ${variant}: recipe '${cfg0.recipe}' does not train k-fold splits (use folds 0)`);
    variants.push({ name: variant, description: v.description, preprocess: v.preprocess });
    if (only && !only.includes(variant)) continue;
    for (const fold of foldList) {
      const r = ref(variant, v.description, fold);
      const cfg: TrainConfig = { ...cfg0, project: dir, name: r.runName, resume: false, existOk: true };
      for (const k of PATH_KEYS) if (typeof cfg[k] === 'string') (cfg as Record<string, unknown>)[k] = path.resolve(cfg[k]);
      cfg.project = dir;
      if (fold !== undefined) Object.assign(cfg, { folds, fold });
      runs.push({ ...r, cfg, preprocess: v.preprocess });
    }
  }
  const appendix = spec.appendix.map((f) => path.resolve(f));
  appendix.forEach((f, i) => {
    if (!fs.existsSync(f)) throw new UserError(`${file}: appendix[${i}]: ${spec.appendix[i]} does not exist (paths are relative to the working directory ${process.cwd()})`);
  });
  return { file, name, description: spec.description, dir, folds, queue: spec.queue, queueName: spec.queueName, appendix, variants, runs, votes };
}

/** Refuses, before anything trains, runs whose `data` / `valData` path does not exist (naming the variant and key). */
export function assertInputsExist(plan: ExperimentPlan): void {
  for (const run of plan.runs) {
    for (const key of ['data', 'valData'] as const) {
      const p = run.cfg[key];
      if (p !== undefined && !fs.existsSync(p)) throw new UserError(`${plan.file}: variant ${run.variant}: ${key} ${p} does not exist`);
    }
  }
}
