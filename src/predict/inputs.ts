/**
 * What `plumage predict --data X` means: X resolved to an ordered list of images, each with an id and a path.
 * X is a single image, a folder (searched recursively), a glob, a DACON folder (one with test.csv) or a CSV.
 * Resolution only lists files: whether each one decodes is found out (and reported) when it is read.
 */
import fs from 'node:fs';
import path from 'node:path';
import { globSync, isDynamicPattern } from 'tinyglobby';
import { readCsv } from '../data/csv.js';
import { UserError } from '../util/errors.js';

/** File extensions taken as images when a folder or a glob is searched (what sharp/libvips decodes). */
export const IMAGE_EXTENSIONS = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export type InputKind = 'image' | 'folder' | 'glob' | 'dacon' | 'csv';

export interface InputItem {
  /** Row id: the CSV's `id` column, else the path relative to the folder / glob base / cwd. */
  id: string;
  /** Absolute path of the image file. */
  path: string;
}

export interface ResolvedInputs {
  kind: InputKind;
  /** The CSV read (dacon, csv) or the argument as given. */
  source: string;
  items: InputItem[];
  /** True for DACON test lists (id + img_path columns): a submission.csv in this order can be written. */
  submission: boolean;
}

/** CSV column names accepted for the image path, first match wins. */
const PATH_COLUMNS = ['img_path', 'path', 'image', 'file', 'filename'];

function isImageFile(p: string): boolean {
  return IMAGE_EXTENSIONS.has(path.extname(p).toLowerCase());
}

/** Lists the images under a folder, recursively, sorted by relative path (stable across machines). */
function listFolder(root: string): InputItem[] {
  const out: InputItem[] = [];
  const walk = (dir: string): void => {
    for (const d of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, d.name);
      if (d.isDirectory()) walk(p);
      else if ((d.isFile() || d.isSymbolicLink()) && isImageFile(d.name)) out.push({ id: path.relative(root, p).split(path.sep).join('/'), path: path.resolve(p) });
    }
  };
  walk(root);
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Reads an image list from a CSV: an `id` column (optional) and a path column, paths relative to the CSV's folder. */
function readList(file: string): { items: InputItem[]; submission: boolean } {
  const all = readCsv(file, []);
  const columns = fs.readFileSync(file, 'utf8').replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0]!.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const col = PATH_COLUMNS.find((c) => columns.includes(c));
  if (!col) throw new UserError(`${file}: no image path column (expected one of ${PATH_COLUMNS.join(', ')}; header is: ${columns.join(',')})`);
  const rows = all.map((r, i) => {
    if (!r[col]) throw new UserError(`${file}: row ${i + 2}: empty value in column '${col}'`);
    return r;
  });
  if (rows.length === 0) throw new UserError(`${file}: no rows after the header`);
  const dir = path.dirname(path.resolve(file));
  const hasId = columns.includes('id');
  const seen = new Map<string, number>();
  const items = rows.map((r, i) => {
    const id = hasId ? r.id! : r[col]!;
    if (!id) throw new UserError(`${file}: row ${i + 2}: empty id`);
    const prev = seen.get(id);
    if (prev !== undefined) throw new UserError(`${file}: row ${i + 2}: duplicate id '${id}' (first seen at row ${prev + 2})`);
    seen.set(id, i);
    return { id, path: path.resolve(dir, r[col]!) };
  });
  return { items, submission: hasId && col === 'img_path' };
}

/**
 * Resolves `--data X`. An existing path wins over a glob reading of the same text. Errors (nothing there, an empty
 * folder, a CSV without a path column) are UserErrors naming X.
 */
export function resolveInputs(arg: string, cwd = process.cwd()): ResolvedInputs {
  const abs = path.resolve(cwd, arg);
  if (fs.existsSync(abs)) {
    const st = fs.statSync(abs);
    if (st.isDirectory()) {
      const testCsv = path.join(abs, 'test.csv');
      if (fs.existsSync(testCsv)) return { kind: 'dacon', source: testCsv, ...readList(testCsv) };
      const items = listFolder(abs);
      if (!items.length) throw new UserError(`--data ${arg}: no images in this folder or below (looked for ${[...IMAGE_EXTENSIONS].join(' ')})`);
      return { kind: 'folder', source: arg, items, submission: false };
    }
    if (path.extname(abs).toLowerCase() === '.csv') return { kind: 'csv', source: abs, ...readList(abs) };
    return { kind: 'image', source: arg, items: [{ id: path.basename(abs), path: abs }], submission: false };
  }
  if (isDynamicPattern(arg)) {
    const files = globSync(arg, { cwd, absolute: true, onlyFiles: true, expandDirectories: false }).filter(isImageFile).sort();
    if (!files.length) throw new UserError(`--data ${arg}: the pattern matches no image files`);
    return { kind: 'glob', source: arg, items: files.map((f) => ({ id: path.relative(cwd, f).split(path.sep).join('/'), path: f })), submission: false };
  }
  throw new UserError(`--data ${arg}: no such file or folder`);
}
