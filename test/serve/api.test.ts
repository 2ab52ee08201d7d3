import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { decodeImage } from '../../src/data/decode.js';
import { predictProbs } from '../../src/predict/predict-probs.js';
import { mini, miniImages, pngClaiming, startServer, trainTinyRun, type TestServer } from './fixture.js';

let srv: TestServer;
let run: string;

before(async () => {
  if (mini.skip) return;
  run = trainTinyRun();
  srv = await startServer(run);
});
after(async () => srv?.close());

const post = (url: string, body: BodyInit | Uint8Array, type: string) => fetch(url, { method: 'POST', body: body as BodyInit, headers: { 'content-type': type } });

function multipart(files: { name: string; bytes: Uint8Array; type?: string }[]): FormData {
  const form = new FormData();
  for (const f of files) form.append('image', new Blob([new Uint8Array(f.bytes)], { type: f.type ?? 'image/jpeg' }), f.name);
  return form;
}

interface PredictBody {
  model: string;
  predictions: { name: string; top: { label: string; classIndex: number; probability: number }[] }[];
  timing: { batchSize: number; totalMs: number; inferenceMs: number };
}

test('POST /v1/predict: a real JPEG gets the top-5 of the model, equal to offline predictProbs', { skip: mini.skip, timeout: 120_000 }, async () => {
  const file = miniImages(1)[0]!;
  const res = await post(`${srv.url}/v1/predict`, fs.readFileSync(file), 'image/jpeg');
  assert.equal(res.status, 200);
  const body = (await res.json()) as PredictBody;
  assert.equal(body.model, 'mini');
  const top = body.predictions[0]!.top;
  assert.equal(top.length, 5);
  for (let i = 1; i < top.length; i++) assert.ok(top[i - 1]!.probability >= top[i]!.probability, 'sorted by probability');
  assert.ok(body.timing.totalMs > 0 && body.timing.batchSize >= 1);
  // The same image through the CLI's path: decode + predictProbs.
  const pixels = await decodeImage(fs.readFileSync(file), srv.runner.srcSize, file);
  const probs = await predictProbs(srv.runner.model!, [pixels], srv.runner.srcSize, { inputSize: srv.runner.inputSize });
  for (const t of top) assert.ok(Math.abs(t.probability - probs[t.classIndex]!) < 1e-5, `${t.label}: ${t.probability} vs ${probs[t.classIndex]}`);
  assert.equal(top[0]!.label, srv.runner.classes[probs.indexOf(Math.max(...probs))]);
});

test('POST /v1/predict: multipart with several images answers each in order; ?topk', { skip: mini.skip, timeout: 60_000 }, async () => {
  const files = miniImages(3);
  const res = await fetch(`${srv.url}/v1/predict?topk=2`, { method: 'POST', body: multipart(files.map((f) => ({ name: path.basename(f), bytes: fs.readFileSync(f) }))) });
  assert.equal(res.status, 200);
  const body = (await res.json()) as PredictBody;
  assert.deepEqual(body.predictions.map((p) => p.name), files.map((f) => path.basename(f)));
  assert.ok(body.predictions.every((p) => p.top.length === 2));
});

test('concurrent requests are micro-batched into shared model calls', { skip: mini.skip, timeout: 60_000 }, async () => {
  const s = await startServer(run, { maxWaitMs: 100, maxBatch: 16 }, srv.runner);
  try {
    const files = miniImages(12).map((f) => fs.readFileSync(f));
    const bodies = (await Promise.all(files.map((b) => post(`${s.url}/v1/predict`, b, 'image/jpeg').then((r) => r.json())))) as PredictBody[];
    const sizes = bodies.map((b) => b.timing.batchSize);
    assert.ok(Math.max(...sizes) >= 2, `batch sizes ${sizes.join(',')}`);
  } finally {
    await s.app.close();
  }
});

test('a full queue answers 503 queue_full and the server keeps serving', { skip: mini.skip, timeout: 60_000 }, async () => {
  const s = await startServer(run, { maxWaitMs: 1000, maxBatch: 64, maxQueue: 2 }, srv.runner);
  try {
    const bytes = fs.readFileSync(miniImages(1)[0]!);
    const res = await Promise.all(Array.from({ length: 6 }, () => post(`${s.url}/v1/predict`, bytes, 'image/jpeg')));
    const statuses = res.map((r) => r.status);
    assert.ok(statuses.every((c) => c === 200 || c === 503), statuses.join(','));
    assert.equal(statuses.filter((c) => c === 200).length, 2, statuses.join(','));
    const busy = (await res[statuses.indexOf(503)]!.json()) as { code: string };
    assert.equal(busy.code, 'queue_full');
    assert.equal((await post(`${s.url}/v1/predict`, bytes, 'image/jpeg')).status, 200);
  } finally {
    await s.app.close();
  }
});

test('POST /v1/explain: Grad-CAM heatmap of the top class (array in [0,1] and a 256px PNG) and the model input', { skip: mini.skip, timeout: 60_000 }, async () => {
  const res = await post(`${srv.url}/v1/explain`, fs.readFileSync(miniImages(1)[0]!), 'image/jpeg');
  assert.equal(res.status, 200);
  const b = (await res.json()) as { label: string; classIndex: number; top: { label: string }[]; heatmap: { width: number; height: number; data: number[] }; heatmapPng: string; inputPng: string };
  assert.equal(b.label, b.top[0]!.label);
  assert.equal(b.heatmap.data.length, b.heatmap.width * b.heatmap.height);
  assert.ok(b.heatmap.width >= 2 && b.heatmap.data.every((v) => v >= 0 && v <= 1));
  assert.equal(Math.max(...b.heatmap.data), 1);
  const png = await sharp(Buffer.from(b.heatmapPng.split(',')[1]!, 'base64')).metadata();
  assert.deepEqual([png.width, png.height, png.channels], [256, 256, 4]);
  const input = await sharp(Buffer.from(b.inputPng.split(',')[1]!, 'base64')).metadata();
  assert.deepEqual([input.width, input.height], [srv.runner.srcSize, srv.runner.srcSize]);
});

test('GET /v1/models, /healthz, /metrics (Prometheus), /openapi.json, runs', { skip: mini.skip, timeout: 60_000 }, async () => {
  const models = (await (await fetch(`${srv.url}/v1/models`)).json()) as { models: { id: string; classes: string[]; explain: boolean; tfjs: string | null }[] };
  assert.equal(models.models[0]!.id, 'mini');
  assert.equal(models.models[0]!.classes.length, 25);
  assert.equal(models.models[0]!.explain, true);
  assert.deepEqual(await (await fetch(`${srv.url}/healthz`)).json().then((h) => (h as { status: string }).status), 'ok');
  const metrics = await fetch(`${srv.url}/metrics`);
  assert.match(metrics.headers.get('content-type')!, /text\/plain/);
  const text = await metrics.text();
  assert.match(text, /plumage_http_requests_total\{method="POST",route="\/v1\/predict",status="200"\} \d+/);
  assert.match(text, /plumage_batch_size_bucket/);
  assert.match(text, /plumage_process_resident_memory_bytes \d+/);
  const api = (await (await fetch(`${srv.url}/openapi.json`)).json()) as { openapi: string; paths: Record<string, unknown> };
  assert.match(api.openapi, /^3\./);
  for (const p of ['/v1/predict', '/v1/explain', '/v1/models', '/healthz', '/metrics', '/v1/runs']) assert.ok(p in api.paths, p);
  const runs = (await (await fetch(`${srv.url}/v1/runs`)).json()) as { runs: { id: string; files: string[] }[] };
  assert.deepEqual(runs.runs.map((r) => r.id), ['mini']);
  const detail = (await (await fetch(`${srv.url}/v1/runs/mini`)).json()) as { perClass: unknown[]; config: { model: string } };
  assert.equal(detail.perClass.length, 25);
  assert.equal(detail.config.model, 'resnet-mini');
  const curve = await fetch(`${srv.url}/v1/runs/mini/files/learning_curve.png`);
  assert.equal(curve.headers.get('content-type'), 'image/png');
  assert.equal((await fetch(`${srv.url}/v1/runs/mini/files/..%2Fsecret`)).status, 404);
  assert.equal((await fetch(`${srv.url}/v1/models/mini/tfjs/model.json`)).status, 404, 'no export in this run');
});

/** The bad requests of the issue: each with the status and error code it must get. */
async function badRequests(url: string): Promise<{ what: string; send: () => Promise<Response>; status: number; code: string }[]> {
  const jpeg = fs.readFileSync(miniImages(1)[0]!);
  const bomb = await pngClaiming(20000, 20000);
  const p = `${url}/v1/predict`;
  return [
    { what: 'truncated JPEG', send: () => post(p, jpeg.subarray(0, Math.floor(jpeg.length / 2)), 'image/jpeg'), status: 400, code: 'corrupt_image' },
    { what: 'zero bytes', send: () => post(p, new Uint8Array(0), 'image/jpeg'), status: 400, code: 'empty_image' },
    { what: 'text as image', send: () => post(p, 'this is not a picture of a bird', 'image/jpeg'), status: 415, code: 'unsupported_image' },
    { what: 'wrong content type (JSON)', send: () => post(p, '{"image": 1}', 'application/json'), status: 415, code: 'unsupported_content_type' },
    { what: 'wrong content type (text/plain)', send: () => post(p, 'hello', 'text/plain'), status: 415, code: 'unsupported_content_type' },
    { what: 'unknown content type', send: () => post(p, 'x', 'application/x-bird'), status: 415, code: 'unsupported_content_type' },
    { what: '20000x20000 PNG', send: () => post(p, bomb, 'image/png'), status: 413, code: 'too_many_pixels' },
    { what: '20000x20000 PNG in multipart', send: () => fetch(p, { method: 'POST', body: multipart([{ name: 'bomb.png', bytes: bomb, type: 'image/png' }]) }), status: 413, code: 'too_many_pixels' },
    { what: 'multipart without a file', send: () => fetch(p, { method: 'POST', body: (() => { const f = new FormData(); f.append('note', 'hi'); return f; })() }), status: 400, code: 'no_image' },
    { what: 'topk=0', send: () => post(`${p}?topk=0`, jpeg, 'image/jpeg'), status: 400, code: 'bad_request' },
    { what: 'GET on a POST route', send: () => fetch(p), status: 404, code: 'not_found' },
  ];
}

test('bad inputs: each gets its 4xx JSON error naming the problem', { skip: mini.skip, timeout: 120_000 }, async () => {
  for (const b of await badRequests(srv.url)) {
    const res = await b.send();
    const body = (await res.json()) as { statusCode: number; code: string; message: string };
    assert.equal(res.status, b.status, `${b.what}: ${JSON.stringify(body)}`);
    assert.equal(body.code, b.code, b.what);
    assert.equal(body.statusCode, b.status);
    assert.ok(body.message.length > 10, `${b.what}: message '${body.message}'`);
  }
  // 50 MB bodies: refused by size (raw and multipart) without being decoded.
  const big = new Uint8Array(50 * 1024 * 1024);
  const raw = await post(`${srv.url}/v1/predict`, big, 'image/jpeg');
  assert.equal(raw.status, 413);
  assert.equal(((await raw.json()) as { code: string }).code, 'body_too_large');
  const mp = await fetch(`${srv.url}/v1/predict`, { method: 'POST', body: multipart([{ name: 'big.jpg', bytes: big }]) });
  assert.equal(mp.status, 413);
  assert.equal(((await mp.json()) as { code: string }).code, 'body_too_large');
  assert.equal((await post(`${srv.url}/v1/predict`, fs.readFileSync(miniImages(1)[0]!), 'image/jpeg')).status, 200, 'still serving');
});

test('1000 malformed requests in a row: all 4xx, no crash, RSS bounded, still serving', { skip: mini.skip, timeout: 300_000 }, async () => {
  const bad = await badRequests(srv.url);
  const rss0 = process.memoryUsage().rss;
  const counts: Record<number, number> = {};
  for (let i = 0; i < 1000; i++) {
    const b = bad[i % bad.length]!;
    const res = await b.send();
    await res.arrayBuffer();
    counts[res.status] = (counts[res.status] ?? 0) + 1;
    assert.equal(res.status, b.status, `request ${i} (${b.what})`);
  }
  const grownMb = (process.memoryUsage().rss - rss0) / 2 ** 20;
  assert.ok(Object.keys(counts).every((s) => Number(s) >= 400 && Number(s) < 500), JSON.stringify(counts));
  assert.ok(grownMb < 150, `RSS grew ${grownMb.toFixed(0)} MB over 1000 bad requests`);
  assert.equal((await post(`${srv.url}/v1/predict`, fs.readFileSync(miniImages(1)[0]!), 'image/jpeg')).status, 200, 'still serving');
  const text = await (await fetch(`${srv.url}/metrics`)).text();
  const refused = [...text.matchAll(/plumage_rejected_total\{code="[^"]+"\} (\d+)/g)].reduce((a, m) => a + Number(m[1]), 0);
  assert.ok(refused >= 1000, `metrics count ${refused} refused requests`);
});
