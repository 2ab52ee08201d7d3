import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { psnr, ssim } from '../../src/eval/image-quality.js';
import { esrganUpscale, loadEsrgan } from '../../src/preprocess/esrgan.js';
import { lanczosEnlarge } from '../../src/preprocess/lanczos.js';
import { decodeRgb, resizeRgb, upscaleRgb } from '../../src/preprocess/upscale.js';
import { listUpscaleInputs, upscaleImages } from '../../src/preprocess/upscale-images.js';
import { selectBackend } from '../../src/runtime/backend.js';
import { Rng } from '../../src/util/random.js';

await selectBackend('auto', () => {});

function smoothImage(w: number, h: number, seed: number): Uint8Array {
  const rng = new Rng(seed);
  const [a, b, c] = [rng.uniform(0.05, 0.2), rng.uniform(0.05, 0.2), rng.uniform(0, 6)];
  const out = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) for (let ch = 0; ch < 3; ch++) out[(y * w + x) * 3 + ch] = Math.round(127.5 + 120 * Math.sin(a * x + b * y + c + ch));
  return out;
}

test('PSNR/SSIM: identical images -> Infinity / 1; known closed-form values', () => {
  const img = smoothImage(32, 32, 1);
  assert.equal(psnr(img, img), Infinity);
  assert.ok(Math.abs(ssim(img, img, 32, 32) - 1) < 1e-12);
  // constant difference d: MSE = d^2, PSNR = 20 log10(255 / d)
  const plus = img.map((v) => Math.min(255, v + 10));
  const clipped = img.some((v) => v > 245);
  if (!clipped) assert.ok(Math.abs(psnr(img, plus) - 20 * Math.log10(255 / 10)) < 1e-9);
  const a = new Uint8Array(32 * 32 * 3).fill(100);
  const b = new Uint8Array(32 * 32 * 3).fill(110);
  assert.ok(Math.abs(psnr(a, b) - 20 * Math.log10(25.5)) < 1e-9);
  // two flat images: SSIM = (2 m1 m2 + C1) / (m1^2 + m2^2 + C1) (variances and covariance are 0)
  const C1 = (0.01 * 255) ** 2;
  const want = (2 * 100 * 110 + C1) / (100 * 100 + 110 * 110 + C1);
  assert.ok(Math.abs(ssim(a, b, 32, 32) - want) < 1e-9, `${ssim(a, b, 32, 32)} vs ${want}`);
  // an inverted image is structurally anti-correlated: negative SSIM
  assert.ok(ssim(img, img.map((v) => 255 - v), 32, 32) < 0);
});

test('Lanczos-3 enlargement: constant stays constant, smooth images come back close, output size is right', () => {
  const flat = new Uint8Array(8 * 8 * 3).fill(77);
  assert.ok(lanczosEnlarge(flat, 8, 8, 32, 32).every((v) => v === 77));
  const hr = smoothImage(64, 64, 2);
  return (async () => {
    const lr = await resizeRgb({ rgb: hr, width: 64, height: 64 }, 16, 16, 'lanczos3');
    const up = await upscaleRgb(lr, 'lanczos', 4);
    assert.equal(up.rgb.length, 64 * 64 * 3);
    assert.ok(psnr(up.rgb, hr) > 25, `PSNR ${psnr(up.rgb, hr)}`);
  })();
});

for (const method of ['esrgan-slim', 'esrgan-medium', 'esrgan-thick', 'bicubic', 'lanczos'] as const) {
  test(`${method}: x2/x4 output size and 0-255 range, and beats nearest-neighbour on a smooth image`, async () => {
    const hr = smoothImage(48, 40, 3);
    const lr = await resizeRgb({ rgb: hr, width: 48, height: 40 }, 12, 10, 'lanczos3');
    const up4 = await upscaleRgb(lr, method, 4);
    assert.deepEqual([up4.width, up4.height, up4.rgb.length], [48, 40, 48 * 40 * 3]);
    assert.ok(up4.rgb instanceof Uint8Array);
    const nearest = await sharp(Buffer.from(lr.rgb), { raw: { width: 12, height: 10, channels: 3 } }).resize(48, 40, { kernel: 'nearest' }).raw().toBuffer();
    assert.ok(psnr(up4.rgb, hr) > psnr(new Uint8Array(nearest), hr), `${method}: ${psnr(up4.rgb, hr)} vs nearest ${psnr(new Uint8Array(nearest), hr)}`);
    const up2 = await upscaleRgb(lr, method, 2);
    assert.deepEqual([up2.width, up2.height], [24, 20]);
  });
}

test('ESRGAN tiling: a tiled run matches the whole-image run (overlap hides the seams)', async () => {
  const m = await loadEsrgan('esrgan-slim', 2);
  const img = smoothImage(40, 36, 4);
  const whole = esrganUpscale(m, img, 40, 36, 128);
  const tiled = esrganUpscale(m, img, 40, 36, 16, 8);
  let maxDiff = 0;
  for (let i = 0; i < whole.length; i++) maxDiff = Math.max(maxDiff, Math.abs(whole[i]! - tiled[i]!));
  assert.ok(maxDiff <= 2, `max difference ${maxDiff}`);
  // without overlap the seams show
  const seams = esrganUpscale(m, img, 40, 36, 16, 0);
  let seamDiff = 0;
  for (let i = 0; i < whole.length; i++) seamDiff = Math.max(seamDiff, Math.abs(whole[i]! - seams[i]!));
  assert.ok(seamDiff > maxDiff);
});

test('upscaleImages: folder in, PNGs out with mirrored names; a re-run skips finished outputs', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-up-'));
  const inDir = path.join(dir, 'in');
  fs.mkdirSync(path.join(inDir, 'sub'), { recursive: true });
  const raw = { raw: { width: 16, height: 12, channels: 3 as const } };
  await sharp(Buffer.from(smoothImage(16, 12, 5)), raw).jpeg().toFile(path.join(inDir, 'a.jpg'));
  await sharp(Buffer.from(smoothImage(16, 12, 6)), raw).png().toFile(path.join(inDir, 'sub', 'b.png'));
  const jobs = listUpscaleInputs(inDir);
  assert.deepEqual(jobs.map((j) => j.rel), ['a.png', 'sub/b.png']);
  const out = path.join(dir, 'out');
  const r1 = await upscaleImages(jobs, out, { method: 'bicubic', scale: 3 });
  assert.deepEqual([r1.written, r1.skipped], [2, 0]);
  const img = await decodeRgb(path.join(out, 'sub', 'b.png'));
  assert.deepEqual([img.width, img.height], [48, 36]);
  const mtime = fs.statSync(path.join(out, 'a.png')).mtimeMs;
  fs.rmSync(path.join(out, 'sub', 'b.png'));
  const r2 = await upscaleImages(jobs, out, { method: 'bicubic', scale: 3 });
  assert.deepEqual([r2.written, r2.skipped], [1, 1]);
  assert.equal(fs.statSync(path.join(out, 'a.png')).mtimeMs, mtime);
  assert.deepEqual(fs.readdirSync(out).filter((f) => f.endsWith('.tmp')), []);
  fs.rmSync(dir, { recursive: true, force: true });
});
