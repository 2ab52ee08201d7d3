import fs from 'node:fs';
import path from 'node:path';
import { loadDaconLabelled } from './dacon.js';
import { loadImageFolder } from './image-folder.js';
import type { Dataset } from './dataset.js';
import { UserError } from '../util/errors.js';

/**
 * Loads a labelled dataset from a DACON folder (has train.csv), a labelled CSV file, or an ImageFolder root.
 */
export function loadLabelledDataset(location: string, opts: { classes?: string[]; csvName?: string } = {}): Dataset {
  if (!fs.existsSync(location)) throw new UserError(`--data: '${location}' does not exist`);
  if (location.endsWith('.csv')) return loadDaconLabelled(location, opts);
  if (fs.existsSync(path.join(location, opts.csvName ?? 'train.csv'))) return loadDaconLabelled(location, opts);
  return loadImageFolder(location, opts.classes);
}
