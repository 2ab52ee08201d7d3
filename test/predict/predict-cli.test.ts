import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { mini, readCsvRows, tempDir, trainResnetTiny, valImages } from './fixtures.js';

describe('plumage predict on anything (birds25-mini)', { skip: mini.skip, timeout: 600_000 }, () => {
  let work = '';
  let run = '';
  let photos = '';
  const val = valImages();
  before(() => {
    work = tempDir('predict-cli');
    run = trainResnetTiny(work);
    // A folder of photos with a sub-folder, a text file named .jpg and a truncated JPEG among good images.
    photos = path.join(work, 'photos');
    fs.mkdirSync(path.join(photos, 'more'), { recursive: true });
    val.slice(0, 6).forEach((v, i) => fs.copyFileSync(v.path, path.join(photos, i < 3 ? '' : 'more', path.basename(v.path))));
    fs.writeFileSync(path.join(photos, 'more', 'VAL_00003b.jpg'), 'this is text, not a JPEG');
    fs.writeFileSync(path.join(photos, 'VAL_00001b.jpg'), fs.readFileSync(val[7]!.path).subarray(0, 300));
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  test('a folder with unreadable files: each reported by name, the others written, exit 1', () => {
    const out = path.join(work, 'folder.csv');
    const r = runCli(['predict', '--run', run, '--data', photos, '--output', out]);
    assert.equal(r.code, 1, r.stderr.slice(-2000));
    assert.match(r.stderr, /VAL_00003b\.jpg: cannot decode image/);
    assert.match(r.stderr, /VAL_00001b\.jpg: cannot decode image/);
    assert.match(r.stderr, /2 of 8 images could not be read/);
    const rows = readCsvRows(out);
    assert.deepEqual(rows.map((x) => x.id), ['VAL_00000.jpg', 'VAL_00001.jpg', 'VAL_00002.jpg', 'more/VAL_00003.jpg', 'more/VAL_00004.jpg', 'more/VAL_00005.jpg']);
    const classes = fs.readFileSync(path.join(mini.path, 'classes.txt'), 'utf8').split('\n').filter(Boolean);
    for (const row of rows) {
      assert.ok(classes.includes(row.label!) && classes.includes(row.label_5!));
      const p = [row.prob, row.prob_2, row.prob_3, row.prob_4, row.prob_5].map(Number);
      assert.ok(p.every((v, i) => v >= 0 && v <= 1 && (i === 0 || v <= p[i - 1]!)), 'top-5 probabilities, descending');
    }
  });

  test('--strict stops at the first unreadable image and writes nothing', () => {
    const out = path.join(work, 'strict.csv');
    const r = runCli(['predict', '--run', run, '--data', photos, '--output', out, '--strict']);
    assert.equal(r.code, 2, r.stderr.slice(-2000));
    assert.match(r.stderr, /--strict: stopped at the first unreadable image: .*VAL_00001b\.jpg/);
    assert.ok(!fs.existsSync(out));
  });

  test('a single image as JSON lines with --top-k 3', () => {
    const out = path.join(work, 'one.jsonl');
    const r = runCli(['predict', '--run', run, '--data', val[0]!.path, '--format', 'jsonl', '--top-k', '3', '--output', out]);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { id: string; path: string; label: string; prob: number; top: { label: string; prob: number }[] });
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.id, 'VAL_00000.jpg');
    assert.equal(lines[0]!.top.length, 3);
    assert.equal(lines[0]!.label, lines[0]!.top[0]!.label);
    assert.ok(lines[0]!.top.reduce((a, t) => a + t.prob, 0) <= 1 + 1e-6);
  });

  test('a glob, and the same images from a CSV list, give the same predictions', () => {
    const g = runCli(['predict', '--run', run, '--data', 'val/VAL_0001*.jpg', '--output', path.join(work, 'glob.csv')], { cwd: mini.path });
    assert.equal(g.code, 0, g.stderr.slice(-2000));
    const globRows = readCsvRows(path.join(work, 'glob.csv'));
    assert.deepEqual(globRows.map((x) => x.id), val.slice(10, 20).map((v) => `val/${path.basename(v.path)}`));
    const c = runCli(['predict', '--run', run, '--data', path.join(mini.path, 'val.csv'), '--output', path.join(work, 'csv.csv'), '--submission', path.join(work, 'csv-sub.csv')]);
    assert.equal(c.code, 0, c.stderr.slice(-2000));
    const csvRows = readCsvRows(path.join(work, 'csv.csv'));
    assert.deepEqual(csvRows.map((x) => x.id), val.map((v) => v.id));
    globRows.forEach((row, i) => assert.deepEqual([row.label, row.prob], [csvRows[10 + i]!.label, csvRows[10 + i]!.prob]));
  });

  test('options from a --config file, flags override it, unknown keys named', () => {
    const cfg = path.join(work, 'predict.yaml');
    fs.writeFileSync(cfg, `run: ${run}\ndata: ${val[0]!.path}\nformat: jsonl\ntopK: 2\nruntime: tfjs\n`);
    const out = path.join(work, 'cfg.jsonl');
    const r = runCli(['predict', '--config', cfg, '--top-k', '4', '--output', out]);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    assert.match(r.stderr, /1 run\(s\) on tfjs/);
    const line = JSON.parse(fs.readFileSync(out, 'utf8').trim()) as { top: unknown[] };
    assert.equal(line.top.length, 4, '--top-k on the command line wins over topK in the file');
    fs.appendFileSync(cfg, 'topk: 3\n');
    const bad = runCli(['predict', '--config', cfg, '--output', path.join(work, 'cfg2.jsonl')]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /Unrecognized key: "topk"/);
  });

  test('a DACON folder writes submission.csv in test.csv order; a missing test image is reported and no submission written', () => {
    const dacon = path.join(work, 'dacon');
    fs.mkdirSync(dacon);
    const rows = val.slice(0, 12).reverse();
    fs.writeFileSync(path.join(dacon, 'test.csv'), 'id,img_path\n' + rows.map((v) => `${v.id},${v.path}`).join('\n') + '\n');
    const r = runCli(['predict', '--run', run, '--data', dacon]);
    assert.equal(r.code, 0, r.stderr.slice(-2000));
    const sub = readCsvRows(path.join(run, 'predict', 'submission.csv'));
    assert.deepEqual(Object.keys(sub[0]!), ['id', 'label']);
    assert.deepEqual(sub.map((x) => x.id), rows.map((v) => v.id));
    assert.deepEqual(readCsvRows(path.join(run, 'predict', 'predictions.csv')).map((x) => x.label), sub.map((x) => x.label));

    fs.appendFileSync(path.join(dacon, 'test.csv'), 'TEST_GONE,./gone.jpg\n');
    const again = runCli(['predict', '--run', run, '--data', dacon, '--output', path.join(work, 'd2.csv'), '--submission', path.join(work, 'd2-sub.csv')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /gone\.jpg: cannot read image \(ENOENT\)/);
    assert.match(again.stderr, /d2-sub\.csv not written/);
    assert.equal(readCsvRows(path.join(work, 'd2.csv')).length, 12);
    assert.ok(!fs.existsSync(path.join(work, 'd2-sub.csv')));
  });
});
