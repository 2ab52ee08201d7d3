import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import multipart from '@fastify/multipart';
import fastifyStatic from '@fastify/static';
import swagger from '@fastify/swagger';
import sharp from 'sharp';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { RequestError } from './errors.js';
import { createMetrics } from './metrics.js';
import type { ModelRunner } from './model-runner.js';
import type { ServeOptions } from './options.js';
import { PredictService } from './predict-service.js';
import { RAW_IMAGE_TYPES } from './request-images.js';
import { registerInfoRoutes } from './routes-info.js';
import { registerPredictRoutes } from './routes-predict.js';
import { registerRunRoutes } from './routes-runs.js';

/** The Vite build of web/ (npm run build:web). */
export const DEFAULT_WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'dist');

export type ServerOptions = Omit<ServeOptions, 'run' | 'port' | 'host' | 'backend' | 'modelsDir'> & { backend?: string };

/** Builds the HTTP server for one loaded model (not listening yet). */
export async function buildServer(runner: ModelRunner, o: ServerOptions): Promise<FastifyInstance> {
  const bodyLimit = Math.round(o.bodyLimitMb * 1024 * 1024);
  // libvips' operation cache only helps when the same input comes back; uploads are new bytes each time.
  sharp.cache(false);
  const app = Fastify({ logger: { level: o.logLevel }, bodyLimit, return503OnClosing: true });
  const metrics = createMetrics();
  const svc = new PredictService(runner, { maxPixels: o.maxPixels, decodeTimeoutMs: o.decodeTimeoutMs }, { maxBatch: o.maxBatch, maxWaitMs: o.maxWaitMs, maxQueue: o.maxQueue }, metrics);

  app.addContentTypeParser(RAW_IMAGE_TYPES, { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));
  await app.register(multipart, { limits: { fileSize: bodyLimit, files: o.maxQueue, parts: o.maxQueue + 16, fields: 16 }, throwFileSizeLimit: true });
  await app.register(swagger, {
    openapi: {
      info: { title: 'plumage serve', version: '1', description: `Bird species classifier API (model ${runner.id}, ${runner.architecture}, ${runner.classes.length} classes)` },
    },
  });

  app.setErrorHandler((err: FastifyError | RequestError, req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    let code = err instanceof RequestError ? err.code : (err as FastifyError).validation ? 'bad_request' : ((err as FastifyError).code ?? 'internal_error');
    let text = err.message;
    if (code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') {
      code = 'unsupported_content_type';
      text = `content-type '${req.headers['content-type'] ?? '(none)'}' is not accepted by ${req.method} ${req.url.split('?')[0]}`;
    } else if (code === 'FST_ERR_CTP_BODY_TOO_LARGE' || code === 'FST_REQ_FILE_TOO_LARGE') {
      code = 'body_too_large';
      text = `request body over the limit of ${o.bodyLimitMb} MB (--body-limit-mb)`;
    }
    metrics.rejected.inc({ code });
    if (status >= 500 && status !== 503) req.log.error({ err }, 'request failed');
    else req.log.info({ code, status, reason: text }, 'request refused');
    const message = status >= 500 && status !== 503 ? 'internal error (see the server log)' : text;
    void reply.status(status).send({ statusCode: status, error: httpName(status), code, message });
  });
  app.setNotFoundHandler((req, reply) => {
    metrics.rejected.inc({ code: 'not_found' });
    void reply.status(404).send({ statusCode: 404, error: 'Not Found', code: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0]}` });
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ method: req.method, route, status: String(reply.statusCode) });
    metrics.duration.observe({ route }, reply.elapsedTime / 1000);
  });

  registerPredictRoutes(app, svc, { topK: o.topK, maxImages: o.maxQueue, bodyLimit });
  registerInfoRoutes(app, svc, metrics, o.backend ?? 'unknown');
  registerRunRoutes(app, path.resolve(o.runsDir ?? path.dirname(path.resolve(runner.runDir))));

  const webDir = path.resolve(o.webDir ?? DEFAULT_WEB_DIR);
  if (fs.existsSync(path.join(webDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: webDir, prefix: '/', schemaHide: true });
  } else {
    app.get('/', { schema: { hide: true } }, async (_req, reply) =>
      reply.status(503).send({ statusCode: 503, error: 'Service Unavailable', code: 'web_not_built', message: `web app not built (${webDir}/index.html missing): run npm run build:web` }),
    );
  }
  return app;
}

function httpName(status: number): string {
  const names: Record<number, string> = { 400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 406: 'Not Acceptable', 413: 'Payload Too Large', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 500: 'Internal Server Error', 503: 'Service Unavailable' };
  return names[status] ?? 'Error';
}
