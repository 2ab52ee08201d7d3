// Loads an exported model with STOCK @tensorflow/tfjs only (no plumage code in this process), over HTTP from a
// loopback server as a browser would, and writes its softmax probabilities.
// Usage: node stock-tfjs-predict.mjs <export dir> <inputs.f32 (NHWC float32)> <n> <out.f32>
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';

const [dir, inputFile, nArg, outFile] = process.argv.slice(2);
const server = http.createServer((req, res) => {
  const file = path.join(dir, path.basename(new URL(req.url, 'http://x').pathname));
  if (!fs.existsSync(file)) return res.writeHead(404).end();
  res.writeHead(200, { 'content-type': file.endsWith('.json') ? 'application/json' : 'application/octet-stream' }).end(fs.readFileSync(file));
});
await new Promise((r) => server.listen(0, '127.0.0.1', r));
try {
  await tf.setBackend('cpu');
  const model = await tf.loadLayersModel(`http://127.0.0.1:${server.address().port}/model.json`);
  const meta = model.getUserDefinedMetadata().plumage;
  const s = meta.inputSize;
  const n = Number(nArg);
  const buf = fs.readFileSync(inputFile);
  const x = tf.tensor4d(new Float32Array(buf.buffer, buf.byteOffset, n * s * s * 3), [n, s, s, 3]);
  const probs = tf.softmax(model.predict(x));
  fs.writeFileSync(outFile, Buffer.from((await probs.data()).buffer));
  console.log(JSON.stringify({ classes: meta.classes.length, inputSize: s, layers: [...new Set(model.layers.map((l) => l.getClassName()))] }));
} finally {
  server.close();
}
