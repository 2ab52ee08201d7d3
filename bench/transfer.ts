/**
 * Transfer-learning benchmark on birds25 (DACON format): backbone x recipe x input size, validation Macro F1 on a
 * seeded stratified 10% split of train.csv (test.csv is only predicted, never used for tuning), wall time per stage.
 *
 *   npm run bench:transfer                       # default rows
 *   npm run bench:transfer -- --rows fast        # just the fast probe row
 *   npm run bench:transfer -- --parity 500       # float rebuild vs uint8 reference on 500 birds25 images
 *
 * Writes bench/results/transfer.md, bench/results/birds25-transfer.json and
 * bench/results/birds25-transfer.submission.csv (best row by validation Macro F1).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import { decodeImage } from '../src/data/decode.js';
import { type BackendName, selectBackend } from '../src/runtime/backend.js';
import { parseView } from '../src/transfer/features.js';
import { runFull, type TrainAugment } from '../src/transfer/full.js';
import { ensemble, loadTransferSplit, type RecipeResult, runPartial, runProbe, type TransferSplit } from '../src/transfer/recipes.js';
import { writeSubmission } from '../src/predict/submission.js';
import { zeroShotReport } from '../src/transfer/zeroshot.js';
import { loadPretrained, projectRoot } from '../src/weights/index.js';
import { checkParityVariants } from '../src/weights/parity.js';

const root = projectRoot();
const results = path.join(root, 'bench', 'results');

interface RowSpec {
  key: string;
  kind: 'probe' | 'partial' | 'full' | 'ensemble';
  backbones: string[];
  res: number;
  train: string[];
  eval: string[];
  head?: 'linear' | 'mlp';
  blocks?: number;
  epochs?: number;
  members?: string[];
  /** full: input size for validation/test predictions (default res). */
  evalRes?: number;
  /** full: pseudo-label confident test predictions after this many epochs. */
  pseudoAfter?: number;
  pseudoThreshold?: number;
  /** full: CutMix probability per batch. */
  cutmix?: number;
  /** full: cross-resolution distillation (64px view taught by the 256px copy in the same batch). */
  crossRes?: { weight: number; temperature: number };
  /** full: random-resized crop and colour jitter of the training views. */
  augment?: TrainAugment;
  /** full: learning-rate multiplier of the pretrained layers (default 0.1). */
  backboneLrScale?: number;
  /** partial/full: images per optimizer step (recipe default when unset). */
  batchSize?: number;
  /** partial: shuffling seed (recipe default when unset). */
  seed?: number;
}

const INAT = 'mobilenetv2-inat-birds';
const IMNET = 'mobilenetv2-imagenet';

const ROWS: RowSpec[] = [
  { key: 'fast', kind: 'probe', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr'] },
  { key: 'imnet128', kind: 'probe', backbones: [IMNET], res: 128, train: ['lr'], eval: ['lr'] },
  { key: 'inat128lr', kind: 'probe', backbones: [INAT], res: 128, train: ['lr'], eval: ['lr'] },
  { key: 'both128', kind: 'probe', backbones: [INAT, IMNET], res: 128, train: ['lr'], eval: ['lr'] },
  { key: 'inat128mlp', kind: 'probe', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr'], head: 'mlp' },
  { key: 'inat160tta', kind: 'probe', backbones: [INAT], res: 160, train: ['lr', 'lr.flip', 'hr'], eval: ['lr', 'lr.flip'] },
  { key: 'inat224', kind: 'probe', backbones: [INAT], res: 224, train: ['lr', 'hr'], eval: ['lr'] },
  { key: 'partial128', kind: 'partial', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr'], blocks: 1, epochs: 2, batchSize: 128 },
  // Deep partial fine-tune: the stem and first four inverted-residual blocks frozen, their 16x16x32 activations (at 128px)
  // computed once for four views of every image; the 14 blocks above them trained as in `full128`.
  { key: 'deep128', kind: 'partial', backbones: [INAT], res: 128, train: ['lr', 'hr', 'lr.flip', 'hr.flip'], eval: ['lr', 'lr.flip'], blocks: 14, epochs: 2, batchSize: 32 },
  // One-epoch deep partial fine-tunes on the same cached activations (learning-rate multiplier and shuffling differ),
  // soft-voted: ensembles inside 30 minutes.
  { key: 'deep128a', kind: 'partial', backbones: [INAT], res: 128, train: ['lr', 'hr', 'lr.flip', 'hr.flip'], eval: ['lr', 'lr.flip'], blocks: 14, epochs: 1, batchSize: 32 },
  { key: 'deep128b', kind: 'partial', backbones: [INAT], res: 128, train: ['lr', 'hr', 'lr.flip', 'hr.flip'], eval: ['lr', 'lr.flip'], blocks: 14, epochs: 1, batchSize: 32, backboneLrScale: 0.3, seed: 8 },
  { key: 'deep128c', kind: 'partial', backbones: [INAT], res: 128, train: ['lr', 'hr', 'lr.flip', 'hr.flip'], eval: ['lr', 'lr.flip'], blocks: 14, epochs: 1, batchSize: 32, backboneLrScale: 0.2, seed: 9 },
  { key: 'full128', kind: 'full', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 5 },
  { key: 'full128cm', kind: 'full', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 6, cutmix: 0.5 },
  { key: 'full160', kind: 'full', backbones: [INAT], res: 160, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 4 },
  { key: 'full128pl', kind: 'full', backbones: [INAT], res: 128, evalRes: 160, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 5, pseudoAfter: 3, pseudoThreshold: 0.7 },
  { key: 'full128xr', kind: 'full', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 3, crossRes: { weight: 1, temperature: 2 } },
  { key: 'full128aug', kind: 'full', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 5, augment: { cropScale: [0.7, 1], brightness: 0.2, contrast: 0.2, saturation: 0.2 } },
  { key: 'full128bb3', kind: 'full', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 5, backboneLrScale: 0.3 },
  // A two-member ensemble inside 30 minutes: two 3-epoch fine-tunes that differ in the pretrained layers' learning rate.
  { key: 'full128e3', kind: 'full', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 3 },
  { key: 'full128bb3e3', kind: 'full', backbones: [INAT], res: 128, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 3, backboneLrScale: 0.3 },
  { key: 'full96', kind: 'full', backbones: [INAT], res: 96, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 4 },
  { key: 'imnetfull128', kind: 'full', backbones: [IMNET], res: 128, train: ['lr', 'hr'], eval: ['lr', 'lr.flip'], epochs: 5 },
  { key: 'ensinatimnet', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['full128', 'imnetfull128'] },
  { key: 'ensfull5', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['full128', 'full128cm', 'full160', 'full128pl', 'imnetfull128'] },
  { key: 'ensfull4', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['full128', 'full128cm', 'full160', 'full128pl'] },
  { key: 'ensdeep', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['deep128a', 'deep128b'] },
  { key: 'ensmix', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['deep128a', 'full128e3'] },
  { key: 'ensdeep3', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['deep128a', 'deep128b', 'deep128c'] },
  { key: 'ens30', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['full128e3', 'full128bb3e3'] },
  { key: 'ensfull', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['full128', 'fast', 'both128'] },
  { key: 'ens', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['fast', 'partial128', 'both128'] },
  { key: 'ens2', kind: 'ensemble', backbones: [], res: 0, train: [], eval: [], members: ['fast', 'partial128', 'both128', 'inat128mlp'] },
];

/** The recipe column of the results table: the kind and what the row changes. */
function describeRecipe(s: RowSpec): string {
  if (s.kind === 'probe') return `probe (${s.head === 'mlp' ? 'MLP head' : 'softmax regression'})`;
  if (s.kind === 'ensemble') return `ensemble (${(s.members ?? []).join(' + ')})`;
  const parts = [s.kind === 'partial' ? `last ${s.blocks} blocks` : 'all layers', `${s.epochs} epochs`];
  if (s.batchSize) parts.push(`batch ${s.batchSize}`);
  if (s.cutmix) parts.push(`CutMix p ${s.cutmix}`);
  if (s.crossRes) parts.push(`64px taught by 256px copy (KL weight ${s.crossRes.weight}, T ${s.crossRes.temperature})`);
  if (s.backboneLrScale) parts.push(`pretrained layers at ${s.backboneLrScale}x the head's learning rate`);
  if (s.augment) parts.push(`crop ${s.augment.cropScale.join('-')} + jitter ${s.augment.brightness}`);
  if (s.pseudoAfter !== undefined) parts.push(`test pseudo-labels (p >= ${s.pseudoThreshold ?? 0.7}) after epoch ${s.pseudoAfter}`);
  if (s.seed !== undefined) parts.push(`seed ${s.seed}`);
  return `${s.kind} (${parts.join(', ')})`;
}

const PRESETS: Record<string, string[]> = {
  fast: ['fast'],
  default: ['fast', 'full128', 'imnet128', 'both128', 'ensfull', 'inat128lr', 'partial128', 'ens', 'inat128mlp', 'ens2'],
  more: ['inat160tta', 'inat224'],
  all: ROWS.map((r) => r.key),
};

function fmtS(s: number): string {
  return s < 60 ? `${s.toFixed(1)} s` : `${(s / 60).toFixed(1)} min`;
}

async function parity(n: number, source: 'lr' | 'hr', log: (m: string) => void): Promise<string> {
  const data = path.resolve(root, '..', 'shared', 'data', 'birds25', source === 'hr' ? 'upscale_train' : 'train');
  const files = fs.readdirSync(data).sort().slice(0, n);
  const what = source === 'hr' ? 'their 256px copies resized to 224' : '64px upsampled to 224';
  const lines = [`## Float rebuild (plain, and with activations fake-quantized with TFLite's rounding) vs uint8 reference interpreter (${n} birds25 train images, ${what} with Lanczos-3; reference convolutions accumulated exactly with split-weight float32 convolutions, bit-identical to the plain integer loops)`, '', '| model | float variant | images | top-1 agreement (first tied maximum) | float top-1 among ref tied maxima | images with tied ref maxima | ref top-1 in float top-5 | top-1 agreement where ref top-1 prob >= 0.5 | mean max abs prob diff | max abs prob diff | mean abs diff of ref top-1 prob | embedding rel. L2 error | ref s/img |', '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const id of [INAT, IMNET]) {
    const bb = await loadPretrained(id);
    async function* imgs() {
      for (const f of files) yield decodeImage(fs.readFileSync(path.join(data, f)), 224, f);
    }
    const rs = await checkParityVariants(
      bb.graph,
      imgs(),
      (i) => {
        if (i % 10 === 0) log(`  parity ${id}: ${i}/${n}`);
      },
      { accelerate: true, variants: [false, true] },
    );
    for (const [k, r] of rs.entries()) {
    lines.push(`| ${id} | ${k ? 'fake-quantized (TFLite rounding)' : 'plain float32'} | ${r.images} | ${(100 * r.top1Agreement).toFixed(1)}% | **${(100 * r.top1AgreementTieAware).toFixed(1)}%** | ${r.refTiedTop} | ${(100 * r.refTop1InFloatTop5).toFixed(1)}% | ${(100 * r.confidentAgreement).toFixed(1)}% of ${r.confidentImages} | ${r.meanMaxProbDiff.toFixed(4)} | ${r.maxProbDiff.toFixed(4)} | ${r.meanTop1ProbDiff.toFixed(4)} | ${r.meanEmbeddingRelErr.toFixed(4)} | ${r.refSecondsPerImage.toFixed(2)} |`);
    log(lines[lines.length - 1]!);
    }
  }
  return lines.join('\n');
}

async function main(): Promise<void> {
  const program = new Command()
    .option('--data <dir>', 'DACON folder', path.resolve(root, '..', 'shared', 'data', 'birds25'))
    .option('--rows <list>', `preset (${Object.keys(PRESETS).join('|')}) or comma-separated row keys (${ROWS.map((r) => r.key).join(',')})`, 'default')
    .option('--backend <name>', 'auto|wasm|cpu|torch', 'auto')
    .option('--limit <n>', 'use a stratified subset of train.csv (development only)')
    .option('--no-test', 'skip predicting test.csv')
    .option('--parity <n>', 'run the TFLite parity check on n images instead of the benchmark')
    .option('--parity-source <src>', 'parity images: lr (64px, default) or hr (their 256px copies)', 'lr')
    .option('--seed <n>', 'validation split seed', '42')
    .option('--out <prefix>', 'result file prefix', 'transfer')
    .option('--reuse-checkpoints', 'full rows: keep a finished checkpoint under bench/results/tmp/<out>-<row> and only predict with it')
    .parse();
  const o = program.opts();
  const log = (m: string) => console.error(`[${new Date().toISOString().slice(11, 19)}] ${m}`);
  const backend = await selectBackend(o.backend as BackendName, log);
  log(`backend: ${backend}`);
  if (o.parity) {
    if (o.paritySource !== 'lr' && o.paritySource !== 'hr') throw new Error(`--parity-source: expected lr or hr, got '${o.paritySource}'`);
    const md = await parity(Number(o.parity), o.paritySource, log);
    fs.mkdirSync(results, { recursive: true });
    fs.writeFileSync(path.join(results, o.paritySource === 'hr' ? 'transfer-parity-hr.md' : 'transfer-parity.md'), md + '\n');
    console.log(md);
    return;
  }
  const keys = PRESETS[o.rows] ?? String(o.rows).split(',');
  const specs = keys.map((k) => {
    const r = ROWS.find((x) => x.key === k);
    if (!r) throw new Error(`unknown row '${k}'`);
    return r;
  });
  const t0 = performance.now();
  const split: TransferSplit = loadTransferSplit(o.data, { seed: Number(o.seed), withTest: o.test, limit: o.limit ? Number(o.limit) : undefined });
  log(`data: ${split.train.labels.length} train / ${split.val.labels.length} val / ${split.test?.ids.length ?? 0} test, ${split.classes.length} classes`);
  const done = new Map<string, RecipeResult>();
  const rows: { spec: RowSpec; r: RecipeResult }[] = [];
  const jsonFile = path.join(results, `birds25-${o.out}.json`);
  const zs: string[] = [];
  if (keys.includes('fast') || keys.includes('zeroshot')) {
    const z = await zeroShotReport(split, { inputSize: 224, log });
    zs.push(`Zero-shot (no training; ${INAT} head restricted to the ${z.mapped.length} birds25 species found among its labels, 64px upsampled to 224): Macro F1 ${z.macroF1.toFixed(4)} (accuracy ${(100 * z.accuracy).toFixed(1)}%) over ${z.images} validation images of those classes; ${fmtS(z.seconds)}.`);
    zs.push('', 'Mapped species: ' + z.mapped.map((m) => `${m.species} -> ${m.label}`).join('; '));
    log(zs[0]!);
  }
  const writeReport = async (final: boolean): Promise<string[]> => {
    const totalS = (performance.now() - t0) / 1000;
    const best = [...rows].filter((x) => x.r.testProbs).sort((a, b) => b.r.valMacroF1 - a.r.valMacroF1)[0];
    const md: string[] = [
      `# birds25 transfer benchmark (${o.out})`,
      '',
      `Data: ${o.data}; seeded (seed ${o.seed}) stratified 10% validation split of train.csv: ${split.train.labels.length} train / ${split.val.labels.length} val images; test.csv (${split.test?.ids.length ?? 0}) only predicted. Backend: ${backend}. Machine: ${(await import('node:os')).cpus().length} cores shared with other jobs, so wall times are noisy.`,
      '',
      'Views: lr = 64px image upsampled to the input size; hr = its 256px copy resized to the input size; .flip = horizontal flip. Training uses all train views as samples; evaluation soft-votes the eval views (TTA). Embedding time is wall time for feature extraction including on-disk cache reads (rows computed vs cached shown); a row whose features were cached by an earlier row shows near-zero embedding time.',
      '',
      '| row | recipe | backbone | input | train views | eval views (TTA) | val Macro F1 | val acc | embedding | training | prediction | features computed / cached |',
      '|---|---|---|---|---|---|---|---|---|---|---|---|',
      ...rows.map(({ spec: s, r }) => `| ${s.key} | ${describeRecipe(s)} | ${s.kind === 'ensemble' ? '-' : s.backbones.map((b) => (b === INAT ? 'iNat-birds' : 'ImageNet')).join(' + ')} | ${s.res ? `${s.res}${s.evalRes && s.evalRes !== s.res ? ` (eval ${s.evalRes})` : ''}` : '-'} | ${s.train.join(', ') || '-'} | ${s.eval.join(', ') || '-'} | **${r.valMacroF1.toFixed(4)}** | ${r.valAccuracy.toFixed(4)} | ${fmtS(r.timings.embeddingS)} | ${fmtS(r.timings.trainingS)} | ${fmtS(r.timings.predictionS)} | ${r.featuresComputed} / ${r.featuresCached} |`),
      '',
      final ? `Total wall time of this run: ${fmtS(totalS)}.` : `(in progress: ${rows.length}/${specs.length} rows, ${fmtS(totalS)} so far)`,
      reused.length ? `Rows ${reused.join(', ')} reused finished checkpoints of earlier runs (--reuse-checkpoints): their training time is 0 here; see those runs' result files.` : '',
      best ? `Submission: bench/results/birds25-${o.out}.submission.csv from row \`${best.spec.key}\` (${best.r.name}), validation Macro F1 ${best.r.valMacroF1.toFixed(4)}.` : '',
      '',
      ...zs,
      '',
    ];
    fs.writeFileSync(path.join(results, `${o.out}.md`), md.join('\n'));
    if (final && best && split.test) {
      writeSubmission(path.join(results, `birds25-${o.out}.submission.csv`), split.test.ids, best.r.testProbs!, split.classes);
    }
    return md;
  };
  const reused: string[] = [];
  for (const spec of specs) {
    const tr = spec.train.map(parseView);
    const ev = spec.eval.map(parseView);
    log(`row ${spec.key}: ${spec.kind} ${spec.backbones.join('+')} @${spec.res}`);
    let r: RecipeResult;
    if (spec.kind === 'probe') {
      // The partial rows fine-tune Conv_1 on cached expanded_conv_16 activations: fill them in the same passes.
      const alsoCache = spec.backbones.length === 1 ? [{ block: 'expanded_conv_16' }] : undefined;
      r = await runProbe(split, { backbones: spec.backbones, inputSize: spec.res, trainViews: tr, evalViews: ev, alsoCache, head: spec.head ? { kind: spec.head, epochs: spec.head === 'mlp' ? 12 : 30, dropout: 0.3, hidden: 256 } : undefined, log });
    } else if (spec.kind === 'full') {
      const checkpointDir = path.join(results, 'tmp', `${o.out}-${spec.key}`);
      if (o.reuseCheckpoints && fs.existsSync(path.join(checkpointDir, 'state.json'))) {
        reused.push(spec.key);
        log(`row ${spec.key}: reusing ${checkpointDir}`);
      } else fs.rmSync(checkpointDir, { recursive: true, force: true }); // a benchmark row starts fresh
      r = await runFull(split, { backbone: spec.backbones[0]!, checkpointDir, inputSize: spec.res, epochs: spec.epochs, trainSources: spec.train.map((v) => parseView(v).source), evalViews: ev, cutmix: spec.cutmix, evalInputSize: spec.evalRes, crossResolution: spec.crossRes, augment: spec.augment, backboneLrScale: spec.backboneLrScale, pseudoLabel: spec.pseudoAfter !== undefined ? { afterEpoch: spec.pseudoAfter, threshold: spec.pseudoThreshold ?? 0.7 } : undefined, log });
    } else if (spec.kind === 'partial') {
      r = await runPartial(split, { backbone: spec.backbones[0]!, blocks: spec.blocks ?? 2, inputSize: spec.res, trainViews: tr, evalViews: ev, epochs: spec.epochs, batchSize: spec.batchSize, backboneLrScale: spec.backboneLrScale, seed: spec.seed, log });
    } else {
      const members = (spec.members ?? []).map((k) => done.get(k)).filter((x): x is RecipeResult => !!x);
      if (members.length < 2) {
        log(`row ${spec.key}: fewer than 2 members ran; skipped`);
        continue;
      }
      r = ensemble(members, split, undefined, `soft vote of ${members.map((m) => m.name).join(' + ')}`);
    }
    done.set(spec.key, r);
    rows.push({ spec, r });
    log(`row ${spec.key}: val Macro F1 ${r.valMacroF1.toFixed(4)} acc ${r.valAccuracy.toFixed(4)} | embed ${fmtS(r.timings.embeddingS)} train ${fmtS(r.timings.trainingS)} predict ${fmtS(r.timings.predictionS)} | features computed ${r.featuresComputed} cached ${r.featuresCached}`);
    fs.mkdirSync(results, { recursive: true });
    fs.writeFileSync(
      jsonFile,
      JSON.stringify(
        { backend, data: o.data, seed: Number(o.seed), rows: rows.map(({ spec: s, r: x }) => ({ key: s.key, name: x.name, kind: s.kind, backbones: s.backbones, res: s.res, train: s.train, eval: s.eval, valMacroF1: x.valMacroF1, valAccuracy: x.valAccuracy, timings: x.timings, featuresComputed: x.featuresComputed, featuresCached: x.featuresCached })) },
        null,
        2,
      ),
    );
    await writeReport(false);
  }
  const md = await writeReport(true);
  console.log(md.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
