/**
 * Transfer-learning benchmark on birds25 (DACON format): every row is a `plumage train` config run by the training
 * engine (recipes probe / partial / full), plus soft-vote ensembles of earlier rows. Validation Macro F1 on the same
 * seeded stratified 10% split of train.csv for every row (test.csv is only predicted, never used for tuning).
 *
 *   npm run bench:transfer                              # default rows
 *   npm run bench:transfer -- --rows full128 --out transfer-full128
 *   npm run bench:transfer -- --parity 500              # float rebuild vs uint8 reference on 500 birds25 images
 *
 * Writes bench/results/<out>.md, bench/results/birds25-<out>.json and bench/results/birds25-<out>.submission.csv
 * (best row by validation Macro F1); run folders under bench/results/tmp/<out>-<row>.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { resolveTrainConfig } from '../src/train/resolve-config.js';
import { readCsv } from '../src/data/csv.js';
import { argmaxRows, classificationReport } from '../src/eval/metrics.js';
import { softVote } from '../src/eval/soft-vote.js';
import { writeSubmission } from '../src/predict/submission.js';
import { selectBackend, type BackendName } from '../src/runtime/backend.js';
import { runTraining } from '../src/train/run-training.js';
import { zeroShotOnDacon } from '../src/train/zeroshot.js';
import { projectRoot } from '../src/weights/index.js';
import { parity } from './lib/parity.js';

const root = projectRoot();
const results = path.join(root, 'bench', 'results');
const IMNET = 'mobilenetv2-imagenet';
const VIEWS4 = ['image', 'upscale', 'image.flip', 'upscale.flip'];

/** A row: `plumage train` options (recipe and overrides of its defaults), or an ensemble of earlier rows. */
type Row = { key: string; train: Record<string, unknown> } | { key: string; members: string[] };

const ROWS: Row[] = [
  { key: 'fast', train: { recipe: 'probe', imageSize: 128, trainViews: ['image', 'upscale'], tta: false } },
  { key: 'imnet128', train: { recipe: 'probe', model: IMNET, imageSize: 128, trainViews: ['image'], tta: false } },
  { key: 'inat128lr', train: { recipe: 'probe', imageSize: 128, trainViews: ['image'], tta: false } },
  { key: 'inat128mlp', train: { recipe: 'probe', imageSize: 128, head: 'mlp', hidden: 256, epochs: 12, trainViews: ['image', 'upscale'], tta: false } },
  { key: 'inat160tta', train: { recipe: 'probe', imageSize: 160, trainViews: ['image', 'image.flip', 'upscale'] } },
  { key: 'inat224', train: { recipe: 'probe', imageSize: 224, trainViews: ['image', 'upscale'], tta: false } },
  { key: 'partial128', train: { recipe: 'partial', imageSize: 128, blocks: 1, epochs: 2, batchSize: 128, trainViews: ['image', 'upscale'], tta: false } },
  // Deep partial fine-tunes: the stem and first four inverted-residual blocks frozen, their 16x16x32 activations (at
  // 128px) computed once for four views of every image; the 14 blocks above them trained.
  { key: 'deep128', train: { recipe: 'partial', epochs: 2, trainViews: VIEWS4 } },
  { key: 'deep128a', train: { recipe: 'partial', trainViews: VIEWS4 } },
  { key: 'deep128b', train: { recipe: 'partial', trainViews: VIEWS4, backboneLrScale: 0.3, seed: 8, splitSeed: 42 } },
  { key: 'deep128c', train: { recipe: 'partial', trainViews: VIEWS4, backboneLrScale: 0.2, seed: 9, splitSeed: 42 } },
  { key: 'full128', train: { recipe: 'full', epochs: 5 } },
  { key: 'full128cm', train: { recipe: 'full', epochs: 6, cutmix: 0.5 } },
  { key: 'full160', train: { recipe: 'full', imageSize: 160, epochs: 4 } },
  { key: 'full128pl', train: { recipe: 'full', evalImageSize: 160, epochs: 5, pseudoLabel: 0.7, pseudoAfter: 3 } },
  { key: 'full128xr', train: { recipe: 'full', epochs: 3, upscaleTeacher: 1 } },
  { key: 'full128aug', train: { recipe: 'full', epochs: 5, cropScale: [0.7, 1], brightness: 0.2, contrast: 0.2, saturation: 0.2 } },
  { key: 'full128bb3', train: { recipe: 'full', epochs: 5, backboneLrScale: 0.3 } },
  { key: 'full128e3', train: { recipe: 'full', epochs: 3 } },
  { key: 'full128bb3e3', train: { recipe: 'full', epochs: 3, backboneLrScale: 0.3 } },
  { key: 'full96', train: { recipe: 'full', imageSize: 96, epochs: 4 } },
  { key: 'imnetfull128', train: { recipe: 'full', model: IMNET, epochs: 5 } },
  { key: 'ensinatimnet', members: ['full128', 'imnetfull128'] },
  { key: 'ensfull5', members: ['full128', 'full128cm', 'full160', 'full128pl', 'imnetfull128'] },
  { key: 'ensfull4', members: ['full128', 'full128cm', 'full160', 'full128pl'] },
  { key: 'ensdeep', members: ['deep128a', 'deep128b'] },
  { key: 'ensmix', members: ['deep128a', 'full128e3'] },
  { key: 'ensdeep3', members: ['deep128a', 'deep128b', 'deep128c'] },
  { key: 'ens30', members: ['full128e3', 'full128bb3e3'] },
  { key: 'ensprobe', members: ['fast', 'partial128', 'inat128mlp'] },
];

const PRESETS: Record<string, string[]> = {
  fast: ['fast'],
  default: ['fast', 'full128', 'imnet128', 'inat128lr', 'partial128', 'inat128mlp', 'ensprobe'],
  regression: ['full128', 'deep128a'],
  more: ['inat160tta', 'inat224'],
  all: ROWS.map((r) => r.key),
};

interface RowResult {
  key: string;
  recipe: string;
  options: Record<string, unknown>;
  valMacroF1: number;
  valAccuracy: number;
  epochs: number;
  seconds: { setup: number; training: number; prediction: number; wall: number };
  valProbs: Float32Array;
  testProbs?: Float32Array;
}

const fmtS = (s: number) => (s < 60 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`);

/** A probabilities CSV (id, one column per class) as a row-major matrix in the given id order. */
function readProbs(file: string, ids: string[], classes: string[]): Float32Array {
  const rows = new Map(readCsv(file, ['id']).map((r) => [r.id!, r]));
  const out = new Float32Array(ids.length * classes.length);
  ids.forEach((id, i) => classes.forEach((c, k) => (out[i * classes.length + k] = Number(rows.get(id)![c]))));
  return out;
}

async function main(): Promise<void> {
  const o = new Command()
    .option('--data <dir>', 'DACON folder', path.resolve(root, '..', 'shared', 'data', 'birds25'))
    .option('--rows <list>', `preset (${Object.keys(PRESETS).join('|')}) or comma-separated row keys (${ROWS.map((r) => r.key).join(',')})`, 'default')
    .option('--backend <name>', 'auto|wasm|cpu|torch', 'auto')
    .option('--limit <n>', 'use a stratified subset of the training split (development only)')
    .option('--parity <n>', 'run the TFLite parity check on n images instead of the benchmark')
    .option('--parity-source <src>', 'parity images: lr (64px, default) or hr (their 256px copies)', 'lr')
    .option('--out <prefix>', 'result file prefix', 'transfer')
    .option('--reuse-runs', 'keep finished run folders under bench/results/tmp/<out>-<row> and only read their results')
    .parse()
    .opts();
  const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  const backend = await selectBackend(o.backend as BackendName, log);
  fs.mkdirSync(results, { recursive: true });
  if (o.parity) {
    if (o.paritySource !== 'lr' && o.paritySource !== 'hr') throw new Error(`--parity-source: expected lr or hr, got '${o.paritySource}'`);
    const md = await parity(Number(o.parity), o.paritySource, log);
    fs.writeFileSync(path.join(results, o.paritySource === 'hr' ? 'transfer-parity-hr.md' : 'transfer-parity.md'), md + '\n');
    console.log(md);
    return;
  }
  const keys = PRESETS[o.rows as string] ?? String(o.rows).split(',');
  const specs = keys.map((k) => ROWS.find((r) => r.key === k) ?? (() => { throw new Error(`unknown row '${k}'`); })());
  const t0 = performance.now();
  const done = new Map<string, RowResult>();
  let classes: string[] = [];
  let valIds: string[] = [];
  let valLabels: number[] = [];
  let testIds: string[] = [];
  const zs: string[] = [];
  if (keys.includes('fast')) {
    const z = await zeroShotOnDacon(o.data as string, { inputSize: 224 });
    zs.push(`Zero-shot (no training; iNat-birds head restricted to the ${z.mapped.length} birds25 species found among its labels, 64px upsampled to 224): Macro F1 ${z.macroF1.toFixed(4)} (accuracy ${(100 * z.accuracy).toFixed(1)}%) over ${z.images} validation images of those classes.`);
    log(zs[0]!);
  }
  const write = (final: boolean) => {
    const rows = [...done.values()];
    const best = rows.filter((r) => r.testProbs).sort((a, b) => b.valMacroF1 - a.valMacroF1)[0];
    const md = [
      `# birds25 transfer benchmark (${o.out})`,
      '',
      `Data: ${o.data}; seeded (split seed 42) stratified 10% validation split of train.csv (${valIds.length} images); test.csv (${testIds.length}) only predicted. Each row is a \`plumage train\` run on the training engine; backend ${backend}; ${os.cpus().length} cores, load average at the end ${os.loadavg().map((l) => l.toFixed(1)).join(' / ')} (other jobs may share the machine: times are noisy).`,
      '',
      '| row | recipe and options | val Macro F1 | val acc | epochs | setup (decode, caches) | training (with per-epoch validation) | final prediction |',
      '|---|---|---|---|---|---|---|---|',
      ...rows.map((r) => `| ${r.key} | ${r.recipe} ${JSON.stringify(r.options)} | **${r.valMacroF1.toFixed(4)}** | ${r.valAccuracy.toFixed(4)} | ${r.epochs || '-'} | ${fmtS(r.seconds.setup)} | ${fmtS(r.seconds.training)} | ${fmtS(r.seconds.prediction)} |`),
      '',
      final ? `Total wall time of this run: ${fmtS((performance.now() - t0) / 1000)}.` : `(in progress: ${rows.length}/${specs.length} rows)`,
      best ? `Submission: bench/results/birds25-${o.out}.submission.csv from row \`${best.key}\`, validation Macro F1 ${best.valMacroF1.toFixed(4)}.` : '',
      '',
      ...zs,
      '',
    ];
    fs.writeFileSync(path.join(results, `${o.out}.md`), md.join('\n'));
    const json = rows.map(({ valProbs, testProbs, ...r }) => r);
    fs.writeFileSync(path.join(results, `birds25-${o.out}.json`), JSON.stringify({ backend, data: o.data, rows: json }, null, 2));
    if (final && best) writeSubmission(path.join(results, `birds25-${o.out}.submission.csv`), testIds, best.testProbs!, classes);
    return md;
  };
  for (const spec of specs) {
    if ('members' in spec) {
      const members = spec.members.map((k) => done.get(k)).filter((x): x is RowResult => !!x);
      if (members.length < 2) {
        log(`row ${spec.key}: fewer than 2 members ran; skipped`);
        continue;
      }
      const valProbs = softVote(members.map((m) => m.valProbs));
      const tests = members.map((m) => m.testProbs).filter((p): p is Float32Array => !!p);
      const rep = classificationReport(valLabels, argmaxRows(valProbs, classes.length), classes);
      const zero = { setup: 0, training: 0, prediction: 0, wall: 0 };
      done.set(spec.key, { key: spec.key, recipe: 'ensemble', options: { members: spec.members }, valMacroF1: rep.macroF1, valAccuracy: rep.accuracy, epochs: 0, seconds: zero, valProbs, testProbs: tests.length === members.length ? softVote(tests) : undefined });
    } else {
      const runDir = path.join(results, 'tmp', `${o.out}-${spec.key}`);
      const reuse = o.reuseRuns && fs.existsSync(path.join(runDir, 'summary.json'));
      if (!reuse) fs.rmSync(runDir, { recursive: true, force: true }); // a benchmark row starts fresh
      const cfg = resolveTrainConfig({ splitSeed: 42, ...spec.train, data: o.data, backend: o.backend, project: path.dirname(runDir), name: path.basename(runDir), limit: o.limit ? Number(o.limit) : undefined });
      log(`row ${spec.key}: ${JSON.stringify(spec.train)}${reuse ? ' (reusing its finished run)' : ''}`);
      const s = reuse ? (JSON.parse(fs.readFileSync(path.join(runDir, 'summary.json'), 'utf8')) as Awaited<ReturnType<typeof runTraining>>) : await runTraining(cfg);
      const split = JSON.parse(fs.readFileSync(path.join(runDir, 'split.json'), 'utf8')) as { val: string[] };
      const report = JSON.parse(fs.readFileSync(path.join(runDir, 'val_report.json'), 'utf8')) as { perClass: { name: string }[] };
      classes = report.perClass.map((c) => c.name);
      valIds = split.val;
      const valRows = new Map(readCsv(path.join(cfg.data, 'train.csv'), ['id', 'label']).map((r) => [r.id!, r.label!]));
      valLabels = valIds.map((id) => classes.indexOf(valRows.get(id)!));
      const testFile = path.join(runDir, 'test_probabilities.csv');
      if (fs.existsSync(testFile)) testIds = readCsv(path.join(cfg.data, 'test.csv'), ['id']).map((r) => r.id!);
      done.set(spec.key, {
        key: spec.key,
        recipe: cfg.recipe,
        options: spec.train,
        valMacroF1: s.valF1,
        valAccuracy: s.valAccuracy,
        epochs: s.epochs,
        seconds: { setup: s.setupSeconds, training: s.trainSeconds, prediction: s.predictSeconds, wall: s.wallSeconds },
        valProbs: readProbs(path.join(runDir, 'val_probabilities.csv'), valIds, classes),
        testProbs: fs.existsSync(testFile) ? readProbs(testFile, testIds, classes) : undefined,
      });
    }
    const r = done.get(spec.key)!;
    log(`row ${spec.key}: val Macro F1 ${r.valMacroF1.toFixed(4)} acc ${r.valAccuracy.toFixed(4)} | setup ${fmtS(r.seconds.setup)} training ${fmtS(r.seconds.training)} prediction ${fmtS(r.seconds.prediction)}`);
    write(false);
  }
  console.log(write(true).join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
