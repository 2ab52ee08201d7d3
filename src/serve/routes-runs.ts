import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import YAML from 'yaml';
import { RequestError } from './errors.js';

/** Run-folder files the runs page shows. */
const RUN_FILES = ['config.yaml', 'summary.json', 'learning_curve.png', 'val_confusion_matrix.png', 'val_per_class.csv', 'metrics.csv'];
const SAFE_NAME = /^[A-Za-z0-9_.-]+$/;

function isRun(dir: string): boolean {
  return ['config.yaml', 'summary.json'].some((f) => fs.existsSync(path.join(dir, f)));
}

function readJson(file: string): unknown {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

/** Runs page data: every run folder under runsDir (config, summary, per-class F1, chart images). */
export function registerRunRoutes(app: FastifyInstance, runsDir: string): void {
  const runDir = (id: string): string => {
    const dir = path.join(runsDir, id);
    if (!SAFE_NAME.test(id) || !fs.existsSync(dir) || !isRun(dir)) throw new RequestError(404, 'unknown_run', `no run '${id}' in ${runsDir}`);
    return dir;
  };

  app.get('/v1/runs', { schema: { summary: 'run folders beside the served run: name, summary, which report files exist' } }, async () => {
    const names = fs.existsSync(runsDir) ? fs.readdirSync(runsDir).filter((n) => SAFE_NAME.test(n) && isRun(path.join(runsDir, n))).sort() : [];
    return {
      runsDir,
      runs: names.map((id) => ({ id, files: RUN_FILES.filter((f) => fs.existsSync(path.join(runsDir, id, f))), summary: readJson(path.join(runsDir, id, 'summary.json')) })),
    };
  });

  app.get<{ Params: { id: string } }>('/v1/runs/:id', { schema: { summary: "one run: config, summary, per-class precision/recall/F1" } }, async (req) => {
    const dir = runDir(req.params.id);
    const cfgFile = path.join(dir, 'config.yaml');
    const classFile = path.join(dir, 'val_per_class.csv');
    return {
      id: req.params.id,
      config: fs.existsSync(cfgFile) ? YAML.parse(fs.readFileSync(cfgFile, 'utf8')) : null,
      configText: fs.existsSync(cfgFile) ? fs.readFileSync(cfgFile, 'utf8') : null,
      summary: readJson(path.join(dir, 'summary.json')),
      perClass: fs.existsSync(classFile) ? parse(fs.readFileSync(classFile, 'utf8'), { columns: true, cast: true }) : null,
      files: RUN_FILES.filter((f) => fs.existsSync(path.join(dir, f))),
    };
  });

  app.get<{ Params: { id: string; file: string } }>('/v1/runs/:id/files/:file', { schema: { summary: "a run's report file (charts, CSV, config)" } }, async (req, reply) => {
    const dir = runDir(req.params.id);
    const { file } = req.params;
    if (!RUN_FILES.includes(file) || !fs.existsSync(path.join(dir, file))) throw new RequestError(404, 'not_found', `run ${req.params.id} has no ${file} (served: ${RUN_FILES.join(', ')})`);
    reply.type(file.endsWith('.png') ? 'image/png' : file.endsWith('.json') ? 'application/json' : 'text/plain; charset=utf-8');
    return fs.promises.readFile(path.join(dir, file));
  });
}
