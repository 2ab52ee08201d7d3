import { QueueFullError } from './errors.js';

export interface BatchInfo {
  /** Images in the model call that served this item. */
  batchSize: number;
  /** Milliseconds the item waited in the queue. */
  queueMs: number;
  /** Milliseconds of the model call. */
  inferenceMs: number;
}

interface Pending<I, O> {
  item: I;
  enqueued: number;
  resolve: (r: { output: O; info: BatchInfo }) => void;
  reject: (e: unknown) => void;
}

export interface BatcherOptions {
  maxBatch: number;
  maxWaitMs: number;
  maxQueue: number;
}

/**
 * Micro-batching: items from concurrent requests wait up to maxWaitMs (or until maxBatch are queued) and go through
 * the model in one call; one call runs at a time, and what queued meanwhile runs right after it. The queue is
 * bounded: a submit that would exceed maxQueue is refused whole (QueueFullError, HTTP 503).
 */
export class MicroBatcher<I, O> {
  private queue: Pending<I, O>[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running = false;
  /** Observers (metrics). */
  onBatch?: (size: number, ms: number) => void;

  constructor(
    private readonly run: (items: I[]) => Promise<O[]>,
    readonly opts: BatcherOptions,
  ) {}

  get depth(): number {
    return this.queue.length;
  }

  submit(items: I[]): Promise<{ output: O; info: BatchInfo }[]> {
    if (this.queue.length + items.length > this.opts.maxQueue) return Promise.reject(new QueueFullError(this.queue.length, this.opts.maxQueue));
    const now = performance.now();
    const all = items.map((item) => new Promise<{ output: O; info: BatchInfo }>((resolve, reject) => this.queue.push({ item, enqueued: now, resolve, reject })));
    this.schedule();
    return Promise.all(all);
  }

  private schedule(): void {
    if (this.running || !this.queue.length) return;
    if (this.queue.length >= this.opts.maxBatch || this.opts.maxWaitMs <= 0) {
      this.flush();
      return;
    }
    this.timer ??= setTimeout(() => this.flush(), this.opts.maxWaitMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running || !this.queue.length) return;
    const batch = this.queue.splice(0, this.opts.maxBatch);
    this.running = true;
    const start = performance.now();
    this.run(batch.map((p) => p.item))
      .then((outputs) => {
        const ms = performance.now() - start;
        this.onBatch?.(batch.length, ms);
        batch.forEach((p, i) => p.resolve({ output: outputs[i]!, info: { batchSize: batch.length, queueMs: start - p.enqueued, inferenceMs: ms } }));
      })
      .catch((err) => batch.forEach((p) => p.reject(err)))
      .finally(() => {
        this.running = false;
        // What queued during the call has waited long enough: run it now.
        if (this.queue.length) this.flush();
      });
  }
}
