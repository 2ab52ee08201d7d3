import fs from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import { RequestError } from './errors.js';
import { supportsGradCam } from './grad-cam.js';
import type { ServeMetrics } from './metrics.js';
import type { PredictService } from './predict-service.js';

const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;

/** The folder `plumage export --format tfjs --output <run>/export/tfjs` writes, when present. */
export function tfjsExportDir(runDir: string): string | null {
  const dir = path.join(runDir, 'export', 'tfjs');
  return fs.existsSync(path.join(dir, 'model.json')) ? dir : null;
}

export function registerInfoRoutes(app: FastifyInstance, svc: PredictService, metrics: ServeMetrics, backend: string): void {
  const r = svc.runner;
  const started = Date.now();
  app.get('/healthz', { schema: { summary: 'liveness: 200 while serving (503 while shutting down)' } }, async () => ({
    status: 'ok',
    model: r.id,
    queue: svc.batcher.depth,
    uptimeS: Math.round((Date.now() - started) / 1000),
  }));

  app.get('/v1/models', { schema: { summary: 'the served model(s): id, architecture, classes, input size, tfjs export, Grad-CAM support' } }, async () => ({
    models: [
      {
        id: r.id,
        architecture: r.architecture,
        inputSize: r.inputSize,
        decodeSize: r.srcSize,
        classes: r.classes,
        checkpoint: path.relative(r.runDir, r.checkpoint),
        backend,
        explain: !!r.model && supportsGradCam(r.model, r.architecture),
        tfjs: tfjsExportDir(r.runDir) ? `/v1/models/${r.id}/tfjs/model.json` : null,
      },
    ],
  }));

  app.get<{ Params: { id: string; file: string } }>('/v1/models/:id/tfjs/:file', { schema: { summary: "the model's tfjs export (model.json and weight shards) for in-browser inference" } }, async (req, reply) => {
    const { id, file } = req.params;
    if (id !== r.id) throw new RequestError(404, 'unknown_model', `no model '${id}' (served: ${r.id})`);
    const dir = tfjsExportDir(r.runDir);
    if (!dir) throw new RequestError(404, 'no_tfjs_export', `model ${r.id} has no tfjs export: run plumage export --run ${r.runDir} --format tfjs --output ${path.join(r.runDir, 'export', 'tfjs')}`);
    const p = path.join(dir, file);
    if (!SAFE_NAME.test(file) || !fs.existsSync(p)) throw new RequestError(404, 'not_found', `no file '${file}' in the tfjs export of ${r.id}`);
    reply.type(file.endsWith('.json') ? 'application/json' : 'application/octet-stream');
    return fs.promises.readFile(p);
  });

  app.get('/metrics', { schema: { summary: 'Prometheus metrics (text exposition format)' } }, async (_req, reply) => {
    metrics.queueDepth.set(svc.batcher.depth);
    reply.type(metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
}
