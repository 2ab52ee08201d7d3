import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeUpload } from '../../src/serve/decode-upload.js';
import { RequestError } from '../../src/serve/errors.js';
import { pngClaiming } from './fixture.js';

const limits = { maxPixels: 4096 * 4096, decodeTimeoutMs: 2000 };
const refused = (status: number, code: string, name: RegExp) => (e: unknown) => e instanceof RequestError && e.statusCode === status && e.code === code && name.test(e.message);

test('decodeUpload: RGB at the model size; PNG alpha on white', async () => {
  const jpeg = await sharp({ create: { width: 100, height: 80, channels: 3, background: '#336699' } }).jpeg({ quality: 95 }).toBuffer();
  const d = await decodeUpload(jpeg, 64, limits, 'a.jpg');
  assert.deepEqual([d.width, d.height, d.format, d.pixels.length], [100, 80, 'jpeg', 64 * 64 * 3]);
  assert.ok(Math.abs(d.pixels[0]! - 0x33) <= 3 && Math.abs(d.pixels[2]! - 0x99) <= 3);
  const clear = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } }).png().toBuffer();
  assert.deepEqual([...(await decodeUpload(clear, 64, limits, 'b.png')).pixels.subarray(0, 3)], [255, 255, 255]);
});

test('decodeUpload refuses by name: empty, not an image, corrupt header, truncated, too many pixels, too slow', async () => {
  const jpeg = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
  await assert.rejects(decodeUpload(new Uint8Array(0), 64, limits, 'e.jpg'), refused(400, 'empty_image', /^e\.jpg: empty/));
  await assert.rejects(decodeUpload(Buffer.from('GIF? no, plain text'), 64, limits, 't.jpg'), refused(415, 'unsupported_image', /^t\.jpg: not an image format/));
  await assert.rejects(decodeUpload(jpeg.subarray(0, 100), 64, limits, 'h.jpg'), refused(400, 'corrupt_image', /^h\.jpg: corrupt image header/));
  await assert.rejects(decodeUpload(jpeg.subarray(0, jpeg.length - 200), 64, limits, 'c.jpg'), refused(400, 'corrupt_image', /^c\.jpg: cannot decode jpeg/));
  await assert.rejects(decodeUpload(await pngClaiming(20000, 20000), 64, limits, 'bomb.png'), refused(413, 'too_many_pixels', /^bomb\.png: 20000x20000 = 400000000 pixels is over the limit of 16777216/));
  const big = await sharp({ create: { width: 3000, height: 3000, channels: 3, background: '#808080', noise: { type: 'gaussian', mean: 128, sigma: 40 } } }).jpeg().toBuffer();
  await assert.rejects(decodeUpload(big, 64, { maxPixels: 1e8, decodeTimeoutMs: 1 }, 'slow.jpg'), refused(422, 'decode_timeout', /^slow\.jpg: decoding took over 1 ms/));
});
