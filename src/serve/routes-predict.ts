import type { FastifyInstance } from 'fastify';
import { RequestError } from './errors.js';
import { explainImage } from './explain.js';
import { GradCamUnsupported } from './grad-cam.js';
import type { PredictService } from './predict-service.js';
import { requestImages } from './request-images.js';

const errorSchema = {
  type: 'object',
  properties: { statusCode: { type: 'integer' }, error: { type: 'string' }, code: { type: 'string' }, message: { type: 'string' } },
};
const topSchema = {
  type: 'array',
  items: { type: 'object', properties: { label: { type: 'string' }, classIndex: { type: 'integer' }, probability: { type: 'number' } } },
};
const timingSchema = {
  type: 'object',
  properties: { decodeMs: { type: 'number' }, queueMs: { type: 'number' }, inferenceMs: { type: 'number' }, totalMs: { type: 'number' }, batchSize: { type: 'integer' } },
};
const predictionsSchema = {
  type: 'array',
  items: { type: 'object', properties: { name: { type: 'string' }, width: { type: 'integer' }, height: { type: 'integer' }, top: topSchema } },
};
const imageBody = {
  description: 'one image as the raw body (image/jpeg, image/png, image/webp, image/gif, image/tiff, image/avif, application/octet-stream), or one or more files as multipart/form-data',
};
const errors = { 400: errorSchema, 413: errorSchema, 415: errorSchema, 422: errorSchema, 503: errorSchema };

export function registerPredictRoutes(app: FastifyInstance, svc: PredictService, o: { topK: number; maxImages: number; bodyLimit: number }): void {
  const topkQuery = { type: 'object', properties: { topk: { type: 'integer', minimum: 1, maximum: svc.runner.classes.length } }, additionalProperties: false };

  app.post<{ Querystring: { topk?: number } }>('/v1/predict', {
    schema: {
      summary: 'classify one or many images: top-k classes with probabilities, the model id and timing',
      ...imageBody,
      querystring: topkQuery,
      response: { 200: { type: 'object', properties: { model: { type: 'string' }, predictions: predictionsSchema, timing: timingSchema } }, ...errors },
    },
    handler: async (req) => svc.predict(await requestImages(req, o.maxImages, o.bodyLimit), req.query.topk ?? o.topK),
  });

  app.post<{ Querystring: { topk?: number } }>('/v1/explain', {
    schema: {
      summary: 'Grad-CAM of one image for its top class (CNN models; others are refused by name), with its top-k',
      ...imageBody,
      querystring: topkQuery,
      response: {
        200: {
          type: 'object',
          properties: {
            model: { type: 'string' },
            top: topSchema,
            classIndex: { type: 'integer' },
            label: { type: 'string' },
            layer: { type: 'string' },
            heatmap: { type: 'object', properties: { width: { type: 'integer' }, height: { type: 'integer' }, data: { type: 'array', items: { type: 'number' } } } },
            heatmapPng: { type: 'string' },
            inputPng: { type: 'string' },
            timing: timingSchema,
          },
        },
        ...errors,
      },
    },
    handler: async (req) => {
      const uploads = await requestImages(req, 1, o.bodyLimit);
      const t0 = performance.now();
      const decoded = await svc.decode(uploads);
      const result = await svc.predictDecoded(uploads, decoded, req.query.topk ?? o.topK, t0);
      let exp;
      try {
        exp = await explainImage(svc.runner, decoded[0]!.pixels);
      } catch (err) {
        if (err instanceof GradCamUnsupported) throw new RequestError(422, 'explain_unsupported', err.message);
        throw err;
      }
      return { model: svc.runner.id, top: result.predictions[0]!.top, ...exp, timing: { ...result.timing, totalMs: Math.round((performance.now() - t0) * 100) / 100 } };
    },
  });
}
