import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { resolveInputs } from '../../src/predict/inputs.js';
import { UserError } from '../../src/util/errors.js';
import { mini, tempDir, valImages } from './fixtures.js';

test('--data resolves each input kind on birds25-mini', { skip: mini.skip }, () => {
  const val = valImages();
  const one = resolveInputs(val[0]!.path);
  assert.equal(one.kind, 'image');
  assert.deepEqual(one.items, [{ id: path.basename(val[0]!.path), path: val[0]!.path }]);

  // A folder with sub-folders: every image below it, sorted by relative path; other files ignored.
  const dir = tempDir('inputs');
  fs.mkdirSync(path.join(dir, 'a', 'b'), { recursive: true });
  fs.copyFileSync(val[0]!.path, path.join(dir, 'z.jpg'));
  fs.copyFileSync(val[1]!.path, path.join(dir, 'a', 'b', 'deep.JPG'));
  fs.writeFileSync(path.join(dir, 'a', 'notes.txt'), 'not an image');
  const folder = resolveInputs(dir);
  assert.equal(folder.kind, 'folder');
  assert.deepEqual(folder.items.map((i) => i.id), ['a/b/deep.JPG', 'z.jpg']);
  assert.equal(folder.submission, false);

  const glob = resolveInputs('val/VAL_0000*.jpg', mini.path);
  assert.equal(glob.kind, 'glob');
  assert.deepEqual(glob.items.map((i) => i.path), val.slice(0, 10).map((v) => v.path));

  // A DACON folder: test.csv (id,img_path), in its row order, paths relative to it.
  const dacon = tempDir('inputs-dacon');
  const rows = [...val.slice(0, 5)].reverse();
  fs.writeFileSync(path.join(dacon, 'test.csv'), 'id,img_path\n' + rows.map((r) => `${r.id},${path.relative(dacon, r.path)}`).join('\n') + '\n');
  const d = resolveInputs(dacon);
  assert.equal(d.kind, 'dacon');
  assert.equal(d.submission, true);
  assert.deepEqual(d.items, rows.map((r) => ({ id: r.id, path: r.path })));

  // A labelled CSV (val.csv): ids and paths from its columns.
  const csv = resolveInputs(path.join(mini.path, 'val.csv'));
  assert.equal(csv.kind, 'csv');
  assert.deepEqual(csv.items, val);
  // A plain list with a `path` column and no id: the path is the id.
  const list = path.join(dir, 'list.csv');
  fs.writeFileSync(list, `path\n${val[2]!.path}\n`);
  assert.deepEqual(resolveInputs(list).items, [{ id: val[2]!.path, path: val[2]!.path }]);
  assert.equal(resolveInputs(list).submission, false);
});

test('--data errors name the argument', () => {
  const dir = tempDir('inputs-bad');
  assert.throws(() => resolveInputs(path.join(dir, 'missing')), (e: Error) => e instanceof UserError && /no such file or folder/.test(e.message));
  assert.throws(() => resolveInputs(dir), (e: Error) => e instanceof UserError && /no images in this folder/.test(e.message));
  assert.throws(() => resolveInputs(path.join(dir, '*.png')), (e: Error) => e instanceof UserError && /matches no image files/.test(e.message));
  const bad = path.join(dir, 'x.csv');
  fs.writeFileSync(bad, 'id,label\n1,a\n');
  assert.throws(() => resolveInputs(bad), (e: Error) => e instanceof UserError && /no image path column/.test(e.message) && e.message.includes(bad));
  fs.writeFileSync(bad, 'id,img_path\n1,a.jpg\n1,b.jpg\n');
  assert.throws(() => resolveInputs(bad), (e: Error) => e instanceof UserError && /row 3: duplicate id '1'/.test(e.message));
});
