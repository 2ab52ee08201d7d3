import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-cli-'));

test('a missing --data folder is named, exit code 2', () => {
  const r = runCli(['train', '--data', '/nonexistent/birds', '--project', tmp()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--data: '\/nonexistent\/birds' does not exist/);
});

test('a CSV with a missing column is named with the file', () => {
  const dir = tmp();
  fs.writeFileSync(path.join(dir, 'train.csv'), 'id,img_path\nA,./a.jpg\n');
  const r = runCli(['train', '--data', dir, '--project', tmp()]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /train\.csv: missing column\(s\) label/);
});

test('an unknown key in the config file is reported with the option path', () => {
  const dir = tmp();
  const cfg = path.join(dir, 'cfg.yaml');
  fs.writeFileSync(cfg, 'epochs: 3\nlearning_rate: 0.1\naugment:\n  cutmix: 2\n');
  const r = runCli(['train', '--config', cfg]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /invalid options \(.*cfg\.yaml \+ command line\)/);
  assert.match(r.stderr, /learning_rate/);
  assert.match(r.stderr, /augment\.cutmix/);
});

test('a non-numeric flag is refused by the parser', () => {
  const r = runCli(['train', '--epochs', 'many']);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /'many' is not an integer/);
});

test('an existing run folder is not overwritten without --exist-ok / --resume', () => {
  const project = tmp();
  fs.mkdirSync(path.join(project, 'exp'));
  fs.writeFileSync(path.join(project, 'exp', 'keep.txt'), 'precious');
  const r = runCli(['train', '--data', project, '--project', project, '--name', 'exp']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /run folder .*exp already exists/);
  assert.equal(fs.readFileSync(path.join(project, 'exp', 'keep.txt'), 'utf8'), 'precious');
});

test('predict with a missing run names the checkpoint path', () => {
  const r = runCli(['predict', '--run', '/nonexistent/run', '--output', path.join(tmp(), 's.csv')]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--run: no checkpoint at \/nonexistent\/run\/weights\/best\.ckpt/);
});

test('predict refuses to replace an existing submission and leaves it intact', () => {
  const dir = tmp();
  const out = path.join(dir, 'submission.csv');
  fs.writeFileSync(out, 'id,label\nold,row\n');
  const r = runCli(['predict', '--run', '/nonexistent/run', '--output', out]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--output: .*submission\.csv already exists \(pass --overwrite/);
  assert.equal(fs.readFileSync(out, 'utf8'), 'id,label\nold,row\n');
});

test('every verb has --help', () => {
  for (const verb of ['train', 'evaluate', 'predict', 'export', 'models']) {
    const r = runCli([verb, '--help']);
    assert.equal(r.code, 0, verb);
    assert.match(r.stdout, new RegExp(`Usage: plumage ${verb}`));
  }
});
