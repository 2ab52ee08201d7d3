// Builds the native addon with node-gyp. Run via `npm run build:torch` at the repository root.
// Exits non-zero when libtorch is missing or the build fails, unless --optional is given (then it
// prints a notice and exits 0, so an install step never fails on machines without libtorch).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { findLibtorch } from './config.mjs';

const optional = process.argv.includes('--optional');
const pkgDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cfg = findLibtorch();
if (cfg.error) {
  console.error(`@plumage/tfjs-backend-torch: ${cfg.error}`);
  process.exit(optional ? 0 : 1);
}

function nodeGyp() {
  if (process.env.npm_config_node_gyp && existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const require = createRequire(import.meta.url);
  try {
    return require.resolve('node-gyp/bin/node-gyp.js');
  } catch {}
  const bundled = path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (existsSync(bundled)) return bundled;
  throw new Error('node-gyp not found (it ships with npm)');
}

const args = [nodeGyp(), 'rebuild', `--jobs=${process.env.JOBS ?? 'max'}`];
// Use the installed Node headers when present so node-gyp does not try to download them.
const prefix = path.resolve(path.dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
console.log(`@plumage/tfjs-backend-torch: building against libtorch in ${cfg.lib}`);
const r = spawnSync(process.execPath, args, { cwd: pkgDir, stdio: 'inherit' });
if (r.status !== 0) {
  console.error('@plumage/tfjs-backend-torch: native build failed');
  process.exit(optional ? 0 : r.status ?? 1);
}
