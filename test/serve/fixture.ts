import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import sharp from 'sharp';
import { selectBackend } from '../../src/runtime/backend.js';
import { loadModelRunner, type ModelRunner } from '../../src/serve/model-runner.js';
import { serveOptionsSchema } from '../../src/serve/options.js';
import { buildServer, type ServerOptions } from '../../src/serve/server.js';
import { runCli } from '../helpers/cli.js';
import { sharedPath } from '../helpers/shared.js';

export const mini = sharedPath('data', 'birds25-mini');

/** Trains the tiny resnet-mini run the serve tests use, with the CLI, into a fresh temp folder (~10 s). */
export function trainTinyRun(): string {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'plumage-serve-'));
  const r = runCli(['train', '--data', mini.path, '--val-data', path.join(mini.path, 'val.csv'), '--epochs', '1', '--limit', '200', '--batch-size', '32', '--project', work, '--name', 'mini', '--no-tta'], { timeoutMs: 240_000 });
  if (r.code !== 0) throw new Error(`training the test run failed:\n${r.stderr.slice(-2000)}`);
  return path.join(work, 'mini');
}

/** Real birds25-mini validation images (paths). */
export function miniImages(n: number): string[] {
  const dir = path.join(mini.path, 'val');
  return fs.readdirSync(dir).filter((f) => f.endsWith('.jpg')).sort().slice(0, n).map((f) => path.join(dir, f));
}

export interface TestServer {
  url: string;
  app: FastifyInstance;
  runner: ModelRunner;
  close(): Promise<void>;
}

/** Loads the run and starts `plumage serve`'s server in this process on a free loopback port. */
export async function startServer(run: string, overrides: Partial<ServerOptions> = {}, runner?: ModelRunner): Promise<TestServer> {
  const backend = await selectBackend('auto', () => {});
  const r = runner ?? (await loadModelRunner(run));
  const defaults = serveOptionsSchema.parse({ run });
  const app = await buildServer(r, { ...defaults, logLevel: 'silent', backend, ...overrides });
  const url = await app.listen({ port: 0, host: '127.0.0.1' });
  return { url, app, runner: r, close: () => app.close() };
}

/** A small PNG whose IHDR claims width x height (CRC fixed): a decompression bomb's header, in under 100 bytes. */
export async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#c00' } }).png().toBuffer();
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(zlib.crc32(png.subarray(12, 29)) >>> 0, 29);
  return png;
}
