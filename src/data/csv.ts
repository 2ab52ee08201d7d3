import fs from 'node:fs';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { UserError } from '../util/errors.js';
import { writeFileAtomic } from '../util/atomic-write.js';

export type CsvRow = Record<string, string>;

/** Reads a CSV with a header row; checks that the required columns exist. Errors name the file and row. */
export function readCsv(file: string, requiredColumns: string[]): CsvRow[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UserError(`${file}: cannot read CSV (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let rows: CsvRow[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as CsvRow[];
  } catch (err) {
    throw new UserError(`${file}: malformed CSV: ${(err as Error).message}`);
  }
  const header = text.replace(/^\uFEFF/, '').split(/\r?\n/, 1)[0]!.split(',').map((c) => c.trim().replace(/^"|"$/g, ''));
  const missing = requiredColumns.filter((c) => !header.includes(c));
  if (missing.length) throw new UserError(`${file}: missing column(s) ${missing.join(', ')} (header is: ${header.join(',')})`);
  rows.forEach((row, i) => {
    for (const c of requiredColumns) {
      if (!row[c]) throw new UserError(`${file}: row ${i + 2}: empty value in column '${c}'`);
    }
  });
  return rows;
}

/** Writes rows as CSV atomically (temp file, then rename). */
export function writeCsv(file: string, columns: string[], rows: (string | number)[][]): void {
  writeFileAtomic(file, stringify(rows, { header: true, columns }));
}
