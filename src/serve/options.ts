import { z } from 'zod';

/** `plumage serve` options: flags and config-file keys share these camelCase names. */
export const serveOptionsSchema = z
  .object({
    run: z.string().min(1, 'give --run <run folder>'),
    runsDir: z.string().optional(),
    port: z.number().int().min(0).max(65535).default(8080),
    host: z.string().default('127.0.0.1'),
    maxBatch: z.number().int().min(1).max(1024).default(32),
    maxWaitMs: z.number().min(0).max(10_000).default(5),
    maxQueue: z.number().int().min(1).default(256),
    bodyLimitMb: z.number().positive().max(1024).default(10),
    maxPixels: z.number().int().min(1).default(4096 * 4096),
    decodeTimeoutMs: z.number().int().min(1).default(2000),
    topK: z.number().int().min(1).default(5),
    backend: z.enum(['auto', 'torch', 'wasm', 'cpu']).default('auto'),
    modelsDir: z.string().optional(),
    webDir: z.string().optional(),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  })
  .strict();

export type ServeOptions = z.infer<typeof serveOptionsSchema>;
