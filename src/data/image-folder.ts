import fs from 'node:fs';
import path from 'node:path';
import type { Dataset, ImageSample } from './dataset.js';
import { UserError } from '../util/errors.js';

const IMAGE_EXT = new Set(['.jpg', '.jpeg', '.png', '.webp', '.gif', '.tif', '.tiff', '.avif']);

/** Loads an ImageFolder layout: `root/<class>/<image>`; classes sorted by name. Ids are `<class>/<file>`. */
export function loadImageFolder(root: string, classes?: string[]): Dataset {
  if (!fs.existsSync(root) || !fs.statSync(root).isDirectory()) throw new UserError(`${root}: not a folder`);
  const found = fs.readdirSync(root, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
  const classList = classes ?? found;
  const index = new Map(classList.map((c, i) => [c, i]));
  const samples: ImageSample[] = [];
  for (const cls of found) {
    const label = index.get(cls);
    if (label === undefined) throw new UserError(`${path.join(root, cls)}: class folder '${cls}' is not one of the model's classes`);
    for (const f of fs.readdirSync(path.join(root, cls)).sort()) {
      if (!IMAGE_EXT.has(path.extname(f).toLowerCase())) continue;
      samples.push({ id: `${cls}/${f}`, path: path.join(root, cls, f), label });
    }
  }
  if (samples.length === 0) throw new UserError(`${root}: the dataset is empty (no images in class sub-folders)`);
  return { source: root, classes: classList, samples };
}
