import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');

/** Path inside ../shared, or a skip reason when it is missing (tests pass it to `t.skip`). */
export function sharedPath(...parts: string[]): { path: string; skip?: string } {
  const p = path.join(sharedDir, ...parts);
  return fs.existsSync(p) ? { path: p } : { path: p, skip: `${p} not found (../shared beside the project is needed for this test)` };
}
