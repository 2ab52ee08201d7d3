import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli } from '../helpers/cli.js';
import { sharedPath } from '../helpers/shared.js';

const mini = sharedPath('data', 'birds25-mini');

test('end to end on birds25-mini: train, evaluate, predict a valid submission', { skip: mini.skip, timeout: 300_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-e2e-'));
  const train = runCli(
    ['train', '--data', mini.path, '--val-data', path.join(mini.path, 'val.csv'), '--epochs', '2', '--limit', '250', '--batch-size', '32', '--project', work, '--name', 'mini', '--no-tta'],
    { timeoutMs: 240_000 },
  );
  assert.equal(train.code, 0, train.stderr.slice(-2000));
  const run = path.join(work, 'mini');
  for (const f of ['config.yaml', 'metrics.csv', 'metrics.jsonl', 'learning_curve.png', 'weights/best.ckpt', 'weights/last.ckpt', 'val_report.json', 'val_confusion_matrix.png', 'val_confusion_matrix.csv', 'val_per_class.csv']) {
    assert.ok(fs.existsSync(path.join(run, f)), `missing ${f}`);
  }
  const metrics = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { valF1: number });
  assert.equal(metrics.length, 2);
  assert.ok(metrics.every((m) => m.valF1 >= 0 && m.valF1 <= 1));

  // birds25-mini has no test split: its labelled val images stand in for test.csv (absolute paths are allowed).
  const val = parse(fs.readFileSync(path.join(mini.path, 'val.csv'), 'utf8'), { columns: true }) as { id: string; img_path: string }[];
  const testCsv = path.join(work, 'test.csv');
  fs.writeFileSync(testCsv, 'id,img_path\n' + val.map((r) => `${r.id},${path.join(mini.path, r.img_path)}`).join('\n') + '\n');
  const out = path.join(work, 'submission.csv');
  const probs = path.join(work, 'probs.csv');
  const predict = runCli(['predict', '--run', run, '--data', testCsv, '--output', out, '--probs', probs, '--tta']);
  assert.equal(predict.code, 0, predict.stderr.slice(-2000));
  const sub = parse(fs.readFileSync(out, 'utf8'), { columns: true }) as { id: string; label: string }[];
  const classes = fs.readFileSync(path.join(mini.path, 'classes.txt'), 'utf8').split('\n').map((s) => s.trim()).filter(Boolean);
  assert.deepEqual(sub.map((r) => r.id), val.map((r) => r.id), 'one row per test id, in test.csv order');
  assert.ok(sub.every((r) => classes.includes(r.label)), 'labels are species names');
  const probRows = parse(fs.readFileSync(probs, 'utf8'), { columns: true }) as Record<string, string>[];
  assert.equal(probRows.length, val.length);
  const sum = classes.reduce((a, c) => a + Number(probRows[0]![c]), 0);
  assert.ok(Math.abs(sum - 1) < 1e-3, `probabilities sum to ${sum}`);

  const evaluate = runCli(['evaluate', '--run', run]);
  assert.equal(evaluate.code, 0, evaluate.stderr.slice(-2000));
  assert.match(evaluate.stdout, /macro F1\s+\d\.\d{4}/);
  assert.ok(fs.existsSync(path.join(run, 'eval', 'confusion_matrix.png')));

  const again = runCli(['predict', '--run', run, '--data', testCsv, '--output', out]);
  assert.equal(again.code, 2, 'an existing output is refused');
  assert.equal(parse(fs.readFileSync(out, 'utf8'), { columns: true }).length, val.length, 'and left intact');
});

test('transfer probe from the CLI on birds25-mini writes a run folder with report and probabilities', { skip: mini.skip ?? sharedPath('models').skip, timeout: 300_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-e2e-probe-'));
  const r = runCli(['train', '--recipe', 'probe', '--model', 'mobilenetv2-inat-birds', '--data', mini.path, '--image-size', '96', '--train-views', 'image,upscale', '--no-tta', '--project', work, '--name', 'probe'], { timeoutMs: 280_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  const m = /val macro F1 (\d\.\d{4})/.exec(r.stdout);
  assert.ok(m, r.stdout.slice(-500));
  assert.ok(Number(m[1]) > 0.3, `a bird-pretrained probe beats chance (1/25) by far: ${m[1]}`);
  for (const f of ['config.yaml', 'summary.json', 'val_report.json', 'val_confusion_matrix.png', 'val_probabilities.csv']) assert.ok(fs.existsSync(path.join(work, 'probe', f)), f);
});

test('partial fine-tuning from the CLI on birds25-mini: options reach the recipe, run folder written', { skip: mini.skip ?? sharedPath('models').skip, timeout: 300_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-e2e-partial-'));
  const r = runCli(['train', '--recipe', 'partial', '--model', 'mobilenetv2-inat-birds', '--data', mini.path, '--image-size', '64', '--blocks', '4', '--batch-size', '64', '--lr', '2e-3', '--train-views', 'image,upscale', '--no-tta', '--project', work, '--name', 'partial'], { timeoutMs: 280_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.match(r.stderr, /partial: \d+ activation rows computed in \d+ s \(the rest cached\); last 4 blocks trained on expanded_conv_13 activations [\dx]+/);
  const cfg = fs.readFileSync(path.join(work, 'partial', 'config.yaml'), 'utf8');
  assert.match(cfg, /batchSize: 64/, 'the options reach the run');
  assert.match(cfg, /lr: 0\.002/);
  const m = /val macro F1 (\d\.\d{4})/.exec(r.stdout);
  assert.ok(m && Number(m[1]) > 0.3, r.stdout.slice(-500));
  for (const f of ['config.yaml', 'summary.json', 'val_report.json', 'val_confusion_matrix.png', 'val_probabilities.csv', 'weights/last.ckpt']) assert.ok(fs.existsSync(path.join(work, 'partial', f)), f);
  // The saved network predicts new images.
  const val = parse(fs.readFileSync(path.join(mini.path, 'val.csv'), 'utf8'), { columns: true }) as { id: string; img_path: string }[];
  const out = path.join(work, 'partial.csv');
  const p = runCli(['predict', '--run', path.join(work, 'partial'), '--data', path.join(mini.path, 'val.csv'), '--output', out]);
  assert.equal(p.code, 0, p.stderr.slice(-2000));
  assert.deepEqual((parse(fs.readFileSync(out, 'utf8'), { columns: true }) as { id: string }[]).map((r) => r.id), val.map((r) => r.id));
});

test('full fine-tuning from the CLI on birds25-mini: run folder, per-epoch validation, time budget', { skip: mini.skip ?? sharedPath('models').skip, timeout: 300_000 }, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-e2e-full-'));
  const r = runCli(['train', '--recipe', 'full', '--model', 'mobilenetv2-inat-birds', '--data', mini.path, '--image-size', '64', '--epochs', '3', '--time-budget-min', '0.0001', '--upscale-teacher', '1', '--crop-scale', '0.8,1', '--project', work, '--name', 'full'], { timeoutMs: 280_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  assert.match(r.stderr, /time budget 0\.0001 min: planning 0\.\d epochs/, 'a budget shorter than an epoch ends training inside the first epoch');
  const cfg = fs.readFileSync(path.join(work, 'full', 'config.yaml'), 'utf8');
  assert.match(cfg, /upscaleTeacher: 1/, '--upscale-teacher reaches the run');
  assert.match(cfg, /cropScale:\n\s+- 0\.8\n\s+- 1/, '--crop-scale reaches the run');
  assert.match(cfg, /brightness: 0\n/, 'no jitter unless asked');
  assert.match(r.stdout, /val macro F1 \d\.\d{4}/);
  const run = path.join(work, 'full');
  for (const f of ['config.yaml', 'split.json', 'summary.json', 'val_report.json', 'val_confusion_matrix.png', 'val_probabilities.csv', 'weights/best.ckpt', 'weights/last.ckpt', 'metrics.csv', 'learning_curve.png']) assert.ok(fs.existsSync(path.join(run, f)), f);
  const metrics = fs.readFileSync(path.join(run, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { epoch: number; steps: number });
  assert.equal(metrics.length, 1, 'one (partial) epoch');
  assert.ok(metrics[0]!.steps < 23, `stopped inside the first epoch: ${metrics[0]!.steps} steps`);
  const evaluate = runCli(['evaluate', '--run', run]);
  assert.equal(evaluate.code, 0, evaluate.stderr.slice(-2000));

  // `predict` loads the fine-tuned run (rebuilt from the pretrained graph) and soft-votes an ensemble of runs.
  const val = parse(fs.readFileSync(path.join(mini.path, 'val.csv'), 'utf8'), { columns: true }) as { id: string; img_path: string }[];
  const testCsv = path.join(work, 'test.csv');
  fs.writeFileSync(testCsv, 'id,img_path\n' + val.map((r) => `${r.id},${path.join(mini.path, r.img_path)}`).join('\n') + '\n');
  const out = path.join(work, 'ensemble.csv');
  const p = runCli(['predict', '--ensemble', `${run},${run}`, '--data', testCsv, '--output', out, '--tta']);
  assert.equal(p.code, 0, p.stderr.slice(-2000));
  assert.match(p.stdout, /soft vote of 2 runs/);
  const sub = parse(fs.readFileSync(out, 'utf8'), { columns: true }) as { id: string; label: string }[];
  assert.deepEqual(sub.map((r) => r.id), val.map((r) => r.id));
});
