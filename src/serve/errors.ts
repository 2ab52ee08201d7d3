/** A request the server refuses: HTTP status, a stable machine code and a message naming the problem. */
export class RequestError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'RequestError';
  }
}

/** The micro-batch queue is full: the client should retry later (503). */
export class QueueFullError extends RequestError {
  constructor(queued: number, max: number) {
    super(503, 'queue_full', `server busy: ${queued} images queued (--max-queue ${max}); retry later`);
  }
}
