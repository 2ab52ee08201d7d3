import client from 'prom-client';

/** Prometheus metrics of one server (own registry, so several servers in one process do not clash). */
export function createMetrics() {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'plumage_' });
  const requests = new client.Counter({ name: 'plumage_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  const duration = new client.Histogram({
    name: 'plumage_http_request_duration_seconds',
    help: 'HTTP request duration by route',
    labelNames: ['route'],
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const images = new client.Counter({ name: 'plumage_images_total', help: 'images classified', registers: [registry] });
  const batchSize = new client.Histogram({ name: 'plumage_batch_size', help: 'images per model call', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [registry] });
  const batchSeconds = new client.Histogram({ name: 'plumage_batch_seconds', help: 'duration of one model call', buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry] });
  const queueDepth = new client.Gauge({ name: 'plumage_queue_depth', help: 'images waiting for the model', registers: [registry] });
  const rejected = new client.Counter({ name: 'plumage_rejected_total', help: 'refused requests by error code', labelNames: ['code'], registers: [registry] });
  return { registry, requests, duration, images, batchSize, batchSeconds, queueDepth, rejected };
}

export type ServeMetrics = ReturnType<typeof createMetrics>;
