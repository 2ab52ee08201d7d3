import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadDaconLabelled, loadDaconTest } from '../../src/data/dacon.js';
import { loadImageFolder } from '../../src/data/image-folder.js';
import { UserError } from '../../src/util/errors.js';

async function makeDataset(rows: string[], header = 'id,img_path,upscale_img_path,label'): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-dacon-'));
  fs.mkdirSync(path.join(dir, 'train'));
  const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toBuffer();
  for (const name of ['a.png', 'b.png', 'c.png']) fs.writeFileSync(path.join(dir, 'train', name), png);
  fs.writeFileSync(path.join(dir, 'train.csv'), [header, ...rows].join('\n') + '\n');
  return dir;
}

test('reads a DACON train.csv with paths relative to the CSV folder', async () => {
  const dir = await makeDataset(['T0,./train/a.png,./train/b.png,Hoopoe', 'T1,./train/c.png,./train/a.png,House Crow']);
  const ds = loadDaconLabelled(dir);
  assert.deepEqual(ds.classes, ['Hoopoe', 'House Crow']);
  assert.equal(ds.samples[1]!.path, path.join(dir, 'train', 'c.png'));
  assert.equal(ds.samples[0]!.upscalePath, path.join(dir, 'train', 'b.png'));
  assert.equal(ds.samples[1]!.label, 1);
});

test('missing columns are named with the file', async () => {
  const dir = await makeDataset(['T0,./train/a.png'], 'id,img_path');
  assert.throws(() => loadDaconLabelled(dir), (e: Error) => e instanceof UserError && /train\.csv: missing column\(s\) label/.test(e.message));
});

test('duplicate ids name the row', async () => {
  const dir = await makeDataset(['T0,./train/a.png,./train/a.png,X', 'T0,./train/b.png,./train/b.png,X']);
  assert.throws(() => loadDaconLabelled(dir), /row 3: duplicate id 'T0' \(first seen at row 2\)/);
});

test('unknown labels against a given class list name the row', async () => {
  const dir = await makeDataset(['T0,./train/a.png,./train/a.png,Dodo']);
  assert.throws(() => loadDaconLabelled(dir, { classes: ['Hoopoe'] }), /row 2: unknown label 'Dodo'/);
});

test('a missing image is named with its row', async () => {
  const dir = await makeDataset(['T0,./train/nope.png,./train/a.png,X']);
  assert.throws(() => loadDaconLabelled(dir), /row 2: img_path '.*nope\.png' does not exist/);
});

test('an empty dataset is an error', async () => {
  const dir = await makeDataset([]);
  assert.throws(() => loadDaconLabelled(dir), /the dataset is empty/);
});

test('test.csv keeps its row order', async () => {
  const dir = await makeDataset([]);
  fs.writeFileSync(path.join(dir, 'test.csv'), 'id,img_path\nZ,./train/a.png\nA,./train/b.png\n');
  assert.deepEqual(loadDaconTest(dir, ['x']).samples.map((s) => s.id), ['Z', 'A']);
});

test('ImageFolder layout: classes from sub-folders, sorted', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-if-'));
  const png = await sharp({ create: { width: 4, height: 4, channels: 3, background: '#fff' } }).png().toBuffer();
  for (const cls of ['wren', 'crow']) {
    fs.mkdirSync(path.join(dir, cls));
    fs.writeFileSync(path.join(dir, cls, '1.png'), png);
    fs.writeFileSync(path.join(dir, cls, 'notes.txt'), 'x');
  }
  const ds = loadImageFolder(dir);
  assert.deepEqual(ds.classes, ['crow', 'wren']);
  assert.deepEqual(ds.samples.map((s) => [s.id, s.label]), [['crow/1.png', 0], ['wren/1.png', 1]]);
});
