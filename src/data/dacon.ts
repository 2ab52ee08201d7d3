import fs from 'node:fs';
import path from 'node:path';
import { readCsv } from './csv.js';
import type { Dataset, ImageSample } from './dataset.js';
import { UserError } from '../util/errors.js';

/** Resolves a DACON-format root folder or a CSV path to the CSV file. */
function csvPath(dirOrCsv: string, name: string): string {
  if (dirOrCsv.endsWith('.csv')) return dirOrCsv;
  return path.join(dirOrCsv, name);
}

function checkUniqueIds(file: string, ids: string[]): void {
  const seen = new Map<string, number>();
  ids.forEach((id, i) => {
    const prev = seen.get(id);
    if (prev !== undefined) throw new UserError(`${file}: row ${i + 2}: duplicate id '${id}' (first seen at row ${prev + 2})`);
    seen.set(id, i);
  });
}

function checkImageExists(file: string, row: number, column: string, imagePath: string): void {
  if (!fs.existsSync(imagePath)) throw new UserError(`${file}: row ${row}: ${column} '${imagePath}' does not exist`);
}

/** Reads the class list: classes.txt beside the CSV when present, else the sorted labels of the CSV. */
export function readClasses(dir: string, labels: string[]): string[] {
  const classesFile = path.join(dir, 'classes.txt');
  if (fs.existsSync(classesFile)) {
    return fs.readFileSync(classesFile, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  }
  return [...new Set(labels)].sort();
}

export interface DaconLoadOptions {
  /** Class list to map labels to; by default classes.txt or the sorted labels found. */
  classes?: string[];
  /** CSV file name inside the folder (train.csv by default; val.csv etc. also work). */
  csvName?: string;
}

/** Loads a labelled DACON CSV (`id,img_path[,upscale_img_path],label`). Paths are relative to the CSV's folder. */
export function loadDaconLabelled(dirOrCsv: string, opts: DaconLoadOptions = {}): Dataset {
  const file = csvPath(dirOrCsv, opts.csvName ?? 'train.csv');
  const rows = readCsv(file, ['id', 'img_path', 'label']);
  if (rows.length === 0) throw new UserError(`${file}: the dataset is empty (no rows after the header)`);
  const dir = path.dirname(file);
  checkUniqueIds(file, rows.map((r) => r.id!));
  const classes = opts.classes ?? readClasses(dir, rows.map((r) => r.label!));
  const index = new Map(classes.map((c, i) => [c, i]));
  const samples: ImageSample[] = rows.map((r, i) => {
    const label = index.get(r.label!);
    if (label === undefined) throw new UserError(`${file}: row ${i + 2}: unknown label '${r.label}' (known: ${classes.length} classes, e.g. ${classes.slice(0, 3).join(', ')})`);
    const imgPath = path.resolve(dir, r.img_path!);
    checkImageExists(file, i + 2, 'img_path', imgPath);
    const sample: ImageSample = { id: r.id!, path: imgPath, label };
    if (r.upscale_img_path) {
      sample.upscalePath = path.resolve(dir, r.upscale_img_path);
      checkImageExists(file, i + 2, 'upscale_img_path', sample.upscalePath);
    }
    return sample;
  });
  return { source: file, classes, samples };
}

/** Loads an unlabelled DACON test CSV (`id,img_path`), keeping its row order (the submission order). */
export function loadDaconTest(dirOrCsv: string, classes: string[]): Dataset {
  const file = csvPath(dirOrCsv, 'test.csv');
  const rows = readCsv(file, ['id', 'img_path']);
  if (rows.length === 0) throw new UserError(`${file}: the dataset is empty (no rows after the header)`);
  const dir = path.dirname(file);
  checkUniqueIds(file, rows.map((r) => r.id!));
  const samples = rows.map((r, i) => {
    const imgPath = path.resolve(dir, r.img_path!);
    checkImageExists(file, i + 2, 'img_path', imgPath);
    return { id: r.id!, path: imgPath };
  });
  return { source: file, classes, samples };
}
