import fs from 'node:fs';
import path from 'node:path';
import { UserError } from '../util/errors.js';

/**
 * Picks the run folder: `<project>/<name>`; without a name, the first free of train, train2, train3...
 * An existing named folder is an error unless resuming or existOk, so an earlier run is never overwritten.
 */
export function prepareRunDir(project: string, name: string | undefined, opts: { resume: boolean; existOk: boolean; prefix?: string; checkOnly?: boolean }): string {
  if (name) {
    const dir = path.resolve(project, name);
    const exists = fs.existsSync(dir) && fs.readdirSync(dir).length > 0;
    if (opts.resume && !exists) throw new UserError(`--resume: run folder ${dir} does not exist or is empty`);
    if (exists && !opts.resume && !opts.existOk) throw new UserError(`--name: run folder ${dir} already exists (use --resume to continue it, --exist-ok to reuse it, or another --name)`);
    if (!opts.checkOnly) fs.mkdirSync(dir, { recursive: true });
    return dir;
  }
  if (opts.resume) throw new UserError('--resume needs --name of the run to continue');
  const prefix = opts.prefix ?? 'train';
  for (let i = 1; ; i++) {
    const dir = path.resolve(project, i === 1 ? prefix : `${prefix}${i}`);
    if (!fs.existsSync(dir)) {
      if (!opts.checkOnly) fs.mkdirSync(dir, { recursive: true });
      return dir;
    }
  }
}
