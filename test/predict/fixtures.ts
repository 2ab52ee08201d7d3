/** Tiny trained runs on birds25-mini for the predict/export tests, trained once per test file with the real CLI. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import { runCli } from '../helpers/cli.js';
import { sharedPath } from '../helpers/shared.js';

export const mini = sharedPath('data', 'birds25-mini');
export const models = sharedPath('models');

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `plumage-${tag}-`));
}

/** resnet-tiny at 32px, one epoch on 100 images (~15 s). */
export function trainResnetTiny(work: string): string {
  const r = runCli(['train', '--data', mini.path, '--model', 'resnet-tiny', '--image-size', '32', '--epochs', '1', '--limit', '100', '--batch-size', '32', '--no-tta', '--project', work, '--name', 'tiny'], { timeoutMs: 180_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  return path.join(work, 'tiny');
}

/** A DACON folder with the first `perClass` birds25-mini training images of each species (absolute paths). */
export function miniSubset(work: string, perClass: number): string {
  const dir = path.join(work, `mini-${perClass}`);
  fs.mkdirSync(dir, { recursive: true });
  const rows = parse(fs.readFileSync(path.join(mini.path, 'train.csv'), 'utf8'), { columns: true }) as Record<string, string>[];
  const seen = new Map<string, number>();
  const keep = rows.filter((r) => {
    const n = seen.get(r.label!) ?? 0;
    seen.set(r.label!, n + 1);
    return n < perClass;
  });
  const abs = (p: string) => path.join(mini.path, p);
  fs.writeFileSync(path.join(dir, 'train.csv'), 'id,img_path,upscale_img_path,label\n' + keep.map((r) => [r.id, abs(r.img_path!), abs(r.upscale_img_path!), `"${r.label}"`].join(',')).join('\n') + '\n');
  fs.copyFileSync(path.join(mini.path, 'classes.txt'), path.join(dir, 'classes.txt'));
  return dir;
}

/** Fine-tuned MobileNetV2 (--recipe full) at 32px, one epoch on 8 images per species. */
export function trainMobileNetFull(work: string): string {
  const r = runCli(['train', '--recipe', 'full', '--model', 'mobilenetv2-inat-birds', '--data', miniSubset(work, 8), '--image-size', '32', '--epochs', '1', '--models-dir', models.path, '--project', work, '--name', 'mnv2'], { timeoutMs: 280_000 });
  assert.equal(r.code, 0, r.stderr.slice(-2000));
  return path.join(work, 'mnv2');
}

/** birds25-mini's 200 labelled validation images (absolute paths), in val.csv order. */
export function valImages(): { id: string; path: string }[] {
  const rows = parse(fs.readFileSync(path.join(mini.path, 'val.csv'), 'utf8'), { columns: true }) as { id: string; img_path: string }[];
  return rows.map((r) => ({ id: r.id, path: path.join(mini.path, r.img_path) }));
}

export function readCsvRows(file: string): Record<string, string>[] {
  return parse(fs.readFileSync(file, 'utf8'), { columns: true }) as Record<string, string>[];
}
