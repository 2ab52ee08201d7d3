import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../src/data/decode.js';
import { PixelCache } from '../../src/data/pixel-cache.js';

const px = (buf: Uint8Array, i: number) => [buf[i * 3], buf[i * 3 + 1], buf[i * 3 + 2]];

test('grayscale PNG becomes 3 equal channels', async () => {
  const img = await sharp(Buffer.alloc(16, 100), { raw: { width: 4, height: 4, channels: 1 } }).png().toBuffer();
  const out = await decodeImage(img, 4, 'gray.png');
  assert.equal(out.length, 48);
  assert.deepEqual(px(out, 5), [100, 100, 100]);
});

test('alpha is composited on white', async () => {
  const rgba = Buffer.alloc(16 * 4);
  for (let i = 0; i < 16; i++) rgba.set([0, 0, 0, 0], i * 4); // fully transparent black
  const img = await sharp(rgba, { raw: { width: 4, height: 4, channels: 4 } }).png().toBuffer();
  assert.deepEqual(px(await decodeImage(img, 4, 'alpha.png'), 0), [255, 255, 255]);
});

test('16-bit PNG is reduced to 8-bit', async () => {
  const img = await sharp({ create: { width: 4, height: 4, channels: 3, background: { r: 255, g: 0, b: 128 } } }).toColourspace('rgb16').png().toBuffer();
  const meta = await sharp(img).metadata();
  assert.equal(meta.depth, 'ushort');
  const p = px(await decodeImage(img, 4, 'deep.png'), 3);
  assert.equal(p[0], 255);
  assert.equal(p[1], 0);
  assert.ok(Math.abs(p[2]! - 128) <= 1);
});

test('CMYK JPEG is converted to sRGB', async () => {
  const img = await sharp({ create: { width: 8, height: 8, channels: 3, background: { r: 200, g: 30, b: 30 } } }).toColourspace('cmyk').jpeg().toBuffer();
  assert.equal((await sharp(img).metadata()).space, 'cmyk');
  const p = px(await decodeImage(img, 8, 'cmyk.jpg'), 10);
  assert.ok(p[0]! > 150 && p[1]! < 90 && p[2]! < 90, `got ${p}`);
});

test('WebP decodes and is resized to the requested size', async () => {
  const img = await sharp({ create: { width: 20, height: 10, channels: 3, background: '#00ff00' } }).webp({ lossless: true }).toBuffer();
  const out = await decodeImage(img, 6, 'x.webp');
  assert.equal(out.length, 6 * 6 * 3);
  assert.deepEqual(px(out, 0), [0, 255, 0]);
});

test('garbage bytes give an error naming the file', async () => {
  await assert.rejects(decodeImage(new Uint8Array([1, 2, 3, 4]), 4, 'broken.jpg'), /broken\.jpg: cannot decode image/);
});

test('pixel cache: second load of the same content is a hit, even under another name', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-cache-'));
  const img = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123456' } }).png().toBuffer();
  fs.writeFileSync(path.join(dir, 'a.png'), img);
  fs.writeFileSync(path.join(dir, 'b.png'), img);
  const cache = new PixelCache(path.join(dir, 'cache'));
  const first = await cache.load(path.join(dir, 'a.png'), 8);
  const second = await cache.load(path.join(dir, 'b.png'), 8);
  assert.equal(cache.misses, 1);
  assert.equal(cache.hits, 1);
  assert.deepEqual(second, first);
  await cache.load(path.join(dir, 'a.png'), 4);
  assert.equal(cache.misses, 2, 'another size is another entry');
});

test('a missing file is named', async () => {
  await assert.rejects(new PixelCache(os.tmpdir()).load('/nonexistent/x.png', 8), /\/nonexistent\/x\.png: cannot read image \(ENOENT\)/);
});
