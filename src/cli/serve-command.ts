import { Command } from 'commander';
import { selectBackend } from '../runtime/backend.js';
import { UserError } from '../util/errors.js';
import { loadModelRunner } from '../serve/model-runner.js';
import { serveOptionsSchema, type ServeOptions } from '../serve/options.js';
import { buildServer } from '../serve/server.js';
import { mergeOptions, readConfigFile, validateConfig } from '../util/config-file.js';
import { parseNumber } from './parse-number.js';

function resolveOptions(flags: Record<string, unknown>): ServeOptions {
  const { config, ...rest } = flags;
  const fromFile = typeof config === 'string' ? readConfigFile(config) : {};
  return validateConfig(serveOptionsSchema, mergeOptions(fromFile, rest), typeof config === 'string' ? `${config} + command line` : 'command line');
}

export function serveCommand(): Command {
  return new Command('serve')
    .description('HTTP API (predict, Grad-CAM explain, models, metrics, OpenAPI) and the web app for one trained run')
    .option('--config <file>', 'YAML or JSON file with any of these options (flags override it)')
    .option('--run <dir>', 'run folder (or .ckpt) to serve')
    .option('--runs-dir <dir>', 'folder of run folders the runs page lists (default: the parent of --run)')
    .option('--port <n>', 'port (default 8080; 0 = any free port)', parseNumber)
    .option('--host <addr>', 'address to listen on (default 127.0.0.1)')
    .option('--max-batch <n>', 'most images per model call (default 32)', parseNumber)
    .option('--max-wait-ms <ms>', 'how long the first queued image waits for others to batch with (default 5)', parseNumber)
    .option('--max-queue <n>', 'images waiting for the model before new requests get 503 (default 256)', parseNumber)
    .option('--body-limit-mb <mb>', 'largest request body (default 10)', parseNumber)
    .option('--max-pixels <n>', 'largest image width x height, checked on the header before decoding (default 16777216 = 4096^2)', parseNumber)
    .option('--decode-timeout-ms <ms>', 'abandon decoding an image after this long (default 2000)', parseNumber)
    .option('--top-k <n>', 'classes returned per image unless ?topk= says otherwise (default 5)', parseNumber)
    .option('--backend <name>', 'auto | torch | wasm | cpu (default auto)')
    .option('--models-dir <dir>', 'pretrained models folder, for runs fine-tuned from a pretrained backbone (default: the cache)')
    .option('--web-dir <dir>', 'built web app to serve at / (default web/dist)')
    .option('--log-level <level>', 'fatal | error | warn | info | debug | trace | silent (default info)')
    .action(async (flags: Record<string, unknown>) => {
      const o = resolveOptions(flags);
      const backend = await selectBackend(o.backend);
      const runner = await loadModelRunner(o.run, { modelsDir: o.modelsDir, log: (m) => console.error(m) });
      const app = await buildServer(runner, { ...o, backend });
      let closing = false;
      const shutdown = (signal: string) => {
        if (closing) return;
        closing = true;
        app.log.info({ signal }, 'shutting down: finishing in-flight requests');
        app.close().then(
          () => {
            runner.dispose();
            app.log.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            app.log.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.once('SIGTERM', () => shutdown('SIGTERM'));
      process.once('SIGINT', () => shutdown('SIGINT'));
      let address: string;
      try {
        address = await app.listen({ port: o.port, host: o.host });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
          throw new UserError(`--host ${o.host} --port ${o.port}: cannot listen (${code}${code === 'EADDRINUSE' ? ': the port is taken; pick another with --port' : ''})`);
        }
        throw err;
      }
      app.log.info({ model: runner.id, architecture: runner.architecture, backend, address }, `plumage serve: ${address} (model ${runner.id})`);
    });
}
