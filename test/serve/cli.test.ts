import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import net from 'node:net';
import path from 'node:path';
import { runCli } from '../helpers/cli.js';
import { mini, trainTinyRun } from './fixture.js';

test('plumage serve: options from a config file are validated by name; a missing run is a user error', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-serve-cli-'));
  const cfg = path.join(dir, 'serve.yaml');
  fs.writeFileSync(cfg, 'run: nowhere\nmaxBatch: 0\nmaxWait: 3\n');
  const bad = runCli(['serve', '--config', cfg]);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /maxBatch/);
  assert.match(bad.stderr, /maxWait/);
  const none = runCli(['serve']);
  assert.equal(none.code, 2, none.stderr);
  assert.match(none.stderr, /run/);
  fs.writeFileSync(cfg, `run: ${path.join(dir, 'no-such-run')}\nport: 0\n`);
  const missing = runCli(['serve', '--config', cfg, '--backend', 'cpu']);
  assert.equal(missing.code, 2, missing.stderr);
  assert.match(missing.stderr, /--run: no checkpoint in .*no-such-run/);
  const flag = runCli(['serve', '--run', dir, '--max-batch', 'lots']);
  assert.notEqual(flag.code, 0);
  assert.match(flag.stderr, /'lots' is not a number/);
});

test('plumage serve: a port in use is a user error naming the port', { skip: mini.skip, timeout: 180_000 }, async () => {
  const run = trainTinyRun();
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = runCli(['serve', '--run', run, '--port', String(port)]);
    assert.equal(r.code, 2, r.stderr.slice(-1000));
    assert.match(r.stderr, new RegExp(`--port ${port}: cannot listen \\(EADDRINUSE: the port is taken`));
  } finally {
    blocker.close();
  }
});
