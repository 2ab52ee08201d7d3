import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { iou, nms, pixelBox, scaleBox, scalePolygon } from '../../src/preprocess/boxes.js';
import { toCocoJson } from '../../src/preprocess/coco-json.js';
import { cropImage, cropWindow } from '../../src/preprocess/crop.js';
import { boxOnImage, detectBirds } from '../../src/preprocess/detect-birds.js';
import { polygonMask } from '../../src/preprocess/polygon-mask.js';
import { writePreprocessedDataset } from '../../src/preprocess/preprocess-dataset.js';
import { decodeRgb, type RgbImage } from '../../src/preprocess/upscale.js';

test('box mapping 256 -> 64: boxes and polygons scale by 1/4 and keep their relative place', () => {
  assert.deepEqual(scaleBox({ x: 40, y: 128, w: 100, h: 64 }, 256, 256, 64, 64), { x: 10, y: 32, w: 25, h: 16 });
  assert.deepEqual(scalePolygon([0, 0, 256, 0, 128, 200], 256, 256, 64, 64), [0, 0, 64, 0, 32, 50]);
  // non-square: each axis by its own factor
  assert.deepEqual(scaleBox({ x: 30, y: 10, w: 60, h: 20 }, 300, 200, 100, 50), { x: 10, y: 2.5, w: 20, h: 5 });
  const r = { id: 'a', file: 'a.jpg', width: 64, height: 64, source: 'copy' as const, sourceFile: 'a256.jpg', sourceWidth: 256, sourceHeight: 256, box: { x: 64, y: 32, w: 128, h: 160 }, score: 0.9, polygon: [64, 32, 192, 32, 128, 192], fillRatio: 0.5 };
  assert.deepEqual(boxOnImage(r), { box: { x: 16, y: 8, w: 32, h: 40 }, polygon: [16, 8, 48, 8, 32, 48], fallback: false });
  const coco = toCocoJson([r], 'image', 0.3) as { annotations: { bbox: number[]; segmentation: number[][]; category_id: number }[] };
  assert.deepEqual(coco.annotations[0]!.bbox, [16, 8, 32, 40]);
  assert.deepEqual(coco.annotations[0]!.segmentation, [[16, 8, 48, 8, 32, 48]]);
  assert.equal(coco.annotations[0]!.category_id, 16);
});

test('iou / nms / pixelBox', () => {
  assert.equal(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 0, y: 0, w: 10, h: 10 }), 1);
  assert.equal(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 10, y: 0, w: 10, h: 10 }), 0);
  assert.ok(Math.abs(iou({ x: 0, y: 0, w: 10, h: 10 }, { x: 5, y: 0, w: 10, h: 10 }) - 50 / 150) < 1e-12);
  const boxes = [{ x: 0, y: 0, w: 10, h: 10 }, { x: 1, y: 1, w: 10, h: 10 }, { x: 50, y: 50, w: 5, h: 5 }];
  assert.deepEqual(nms(boxes, [0.5, 0.9, 0.3], 0.5, 5), [1, 2]);
  assert.deepEqual(pixelBox({ x: -3.2, y: 10.5, w: 100, h: 2.1 }, 64, 64), { x: 0, y: 10, w: 64, h: 3 });
});

/** A 64x64 test image: grey background, a box region whose pixels encode their own coordinates. */
function testImage(): RgbImage {
  const rgb = new Uint8Array(64 * 64 * 3).fill(100);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) {
    rgb[(y * 64 + x) * 3] = x * 4;
    rgb[(y * 64 + x) * 3 + 1] = y * 4;
  }
  return { rgb, width: 64, height: 64 };
}
const px = (img: RgbImage, x: number, y: number) => Array.from(img.rgb.subarray((y * img.width + x) * 3, (y * img.width + x) * 3 + 3));

test('the four crop geometries on a 20x10 box', async () => {
  const img = testImage();
  const box = { x: 10, y: 20, w: 20, h: 10 };
  // resize: the box stretched, so output (0,0) and (19,19) at size 20 hold the box's corners
  const rs = await cropImage(img, box, 'resize', { size: 20 });
  assert.deepEqual([rs.width, rs.height], [20, 20]);
  assert.deepEqual(px(rs, 0, 0).slice(0, 2), [40, 80]);
  assert.equal(px(rs, 19, 19)[0], 29 * 4);
  // y is enlarged 10 -> 20 (interpolated): the last row lies between the box's last two rows
  assert.ok(px(rs, 19, 19)[1]! >= 28 * 4 && px(rs, 19, 19)[1]! <= 29 * 4, `${px(rs, 19, 19)}`);
  // pad: 20x20 square, the 20x10 box centred, black bars above and below (rows 0-4 and 15-19)
  const pad = await cropImage(img, box, 'pad', { size: 20 });
  assert.deepEqual(px(pad, 10, 2), [0, 0, 0]);
  assert.deepEqual(px(pad, 10, 17), [0, 0, 0]);
  assert.deepEqual(px(pad, 0, 5), [40, 80, 100]);
  assert.deepEqual(px(pad, 19, 14), [29 * 4, 29 * 4, 100]);
  // keep-aspect: a 20x20 window around the box centre taken from the image (rows 15-34), no black
  assert.deepEqual(cropWindow(box, 'keep-aspect', 64, 64), { x: 10, y: 15, w: 20, h: 20 });
  const ka = await cropImage(img, box, 'keep-aspect', { size: 20 });
  assert.deepEqual(px(ka, 0, 0), [40, 60, 100]);
  assert.deepEqual(px(ka, 19, 19), [29 * 4, 34 * 4, 100]);
  // keep-aspect near the border: the window moves inside the image
  assert.deepEqual(cropWindow({ x: 0, y: 0, w: 10, h: 4 }, 'keep-aspect', 64, 64), { x: 0, y: 0, w: 10, h: 10 });
  // contour: like pad, and pixels outside the mask are black
  const mask = await polygonMask([10, 20, 20, 20, 20, 30, 10, 30], 64, 64); // the left half of the box
  const ct = await cropImage(img, box, 'contour', { size: 20, mask });
  assert.deepEqual(px(ct, 2, 10), [48, 25 * 4, 100]); // square row 10 = box row 5 = image row 25
  assert.deepEqual(px(ct, 15, 10), [0, 0, 0]);
  assert.deepEqual(px(ct, 2, 2), [0, 0, 0]);
  // the output size is honoured (enlarging and reducing)
  for (const mode of ['pad', 'keep-aspect', 'resize'] as const) {
    for (const size of [8, 64]) {
      const o = await cropImage(img, box, mode, { size });
      assert.deepEqual([o.width, o.height, o.rgb.length], [size, size, size * size * 3]);
    }
  }
});

test('polygonMask fills the inside of a polygon', async () => {
  const m = await polygonMask([2, 2, 12, 2, 12, 8, 2, 8], 16, 16);
  assert.equal(m[5 * 16 + 5], 1);
  assert.equal(m[0], 0);
  assert.equal(m[12 * 16 + 5], 0);
  const area = m.reduce((a, v) => a + v, 0);
  assert.ok(area >= 50 && area <= 70, `area ${area}`);
});

test('no bird found -> the whole image, counted; the dataset folder is written in DACON format and resumes', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-det-'));
  const files: string[] = [];
  for (const [i, colour] of [[0, 30], [1, 200]] as const) {
    const f = path.join(dir, `img${i}.png`);
    await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: colour, g: colour, b: colour } } }).png().toFile(f);
    files.push(f);
  }
  const samples = files.map((f, i) => ({ id: `ID${i}`, path: f, label: i }));
  // a detector that "finds" a bird only on the dark image
  const detector = async (rgb: Uint8Array, w: number, h: number) => (rgb[0]! < 128 ? [{ box: { x: w / 4, y: h / 4, w: w / 2, h: h / 2 }, score: 0.8 }] : []);
  const cacheFile = path.join(dir, 'out', 'detections.jsonl');
  const recs = await detectBirds(samples, { detector, cacheFile, noMask: true });
  assert.equal(recs[0]!.source, 'upscaled');
  assert.deepEqual(recs[0]!.box, { x: 64, y: 64, w: 128, h: 128 }); // on the x4 image
  assert.equal(recs[1]!.box, null);
  assert.deepEqual(boxOnImage(recs[1]!), { box: { x: 0, y: 0, w: 64, h: 64 }, polygon: [], fallback: true });
  // cached: a detector that throws is not called again
  const again = await detectBirds(samples, { detector: () => Promise.reject(new Error('called')), cacheFile, noMask: true });
  assert.deepEqual(again, recs);
  // with a box model: the image the detector misses gets the model's box instead of the whole image
  const withModel = await detectBirds(samples, { detector, noMask: true, boxModel: () => ({ x: 1, y: 2, w: 30, h: 40 }), boxModelBelow: 0.3 });
  assert.equal(withModel[0]!.source, 'upscaled');
  assert.equal(withModel[1]!.source, 'box-model');
  assert.deepEqual(boxOnImage(withModel[1]!), { box: { x: 1, y: 2, w: 30, h: 40 }, polygon: [], fallback: false });
  const ds = { source: 'test', classes: ['a', 'b'], samples };
  const out = path.join(dir, 'out');
  const r = await writePreprocessedDataset(out, ds, undefined, new Map(recs.map((x) => [x.id, x])), { mode: 'resize', size: 32 });
  assert.deepEqual(r, { train: 2, test: 0, fallback: 1 });
  assert.equal(fs.readFileSync(path.join(out, 'train.csv'), 'utf8'), 'id,img_path,label\nID0,./train/ID0.png,a\nID1,./train/ID1.png,b\n');
  const whole = await decodeRgb(path.join(out, 'train', 'ID1.png'));
  assert.deepEqual([whole.width, whole.height], [32, 32]);
  assert.ok(whole.rgb.every((v) => v === 200));
  const mtime = fs.statSync(path.join(out, 'train', 'ID0.png')).mtimeMs;
  await writePreprocessedDataset(out, ds, undefined, new Map(recs.map((x) => [x.id, x])), { mode: 'resize', size: 32 });
  assert.equal(fs.statSync(path.join(out, 'train', 'ID0.png')).mtimeMs, mtime);
  // another mode into the same folder is refused (its images would be mixed with these)
  await assert.rejects(writePreprocessedDataset(out, ds, undefined, new Map(), { mode: 'pad', size: 32 }), /already holds images made with .*resize/);
  // `apply`: images it leaves out keep their own file and 256px copy (test-time SR touches only val/test images)
  const withCopies = { ...ds, samples: samples.map((s) => ({ ...s, upscalePath: s.path })) };
  const testDs = { source: 'test', classes: ['a', 'b'], samples: [{ id: 'T0', path: files[0]! }] };
  const out2 = path.join(dir, 'out2');
  const seen: string[] = [];
  const r2 = await writePreprocessedDataset(out2, withCopies, testDs, new Map(), { mode: 'none', size: 48, apply: (split, s) => (seen.push(`${split}:${s.id}`), split === 'test' || s.id === 'ID1') });
  assert.deepEqual(seen, ['train:ID0', 'train:ID1', 'test:T0']);
  assert.deepEqual(r2, { train: 2, test: 1, fallback: 0 });
  assert.equal(fs.readFileSync(path.join(out2, 'train.csv'), 'utf8'), `id,img_path,upscale_img_path,label\nID0,${files[0]},${files[0]},a\nID1,./train/ID1.png,,b\n`);
  assert.equal(fs.readFileSync(path.join(out2, 'test.csv'), 'utf8'), 'id,img_path\nT0,./test/T0.png\n');
  assert.ok(!fs.existsSync(path.join(out2, 'train', 'ID0.png')));
  assert.deepEqual([(await decodeRgb(path.join(out2, 'test', 'T0.png'))).width, (await decodeRgb(path.join(out2, 'train', 'ID1.png'))).width], [48, 48]);
  fs.rmSync(dir, { recursive: true, force: true });
});
