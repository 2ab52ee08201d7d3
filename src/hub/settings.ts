/**
 * Hub settings from the environment, read the way Python's huggingface_hub reads them, so that one set of variables
 * drives both ecosystems:
 *   HF_ENDPOINT (default the public hub), HF_TOKEN (else the token file `$HF_HOME/token`), HF_HUB_OFFLINE (1/true/yes/on),
 *   HF_HUB_CACHE (else `$HF_HOME/hub`; HF_HOME defaults to `$XDG_CACHE_HOME/huggingface` or `~/.cache/huggingface`).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const DEFAULT_ENDPOINT = 'https://huggingface.co';

export interface HubSettings {
  endpoint: string;
  /** Bearer token; never printed. */
  token?: string;
  offline: boolean;
  /** The hub cache folder holding `models--ORG--NAME/`. */
  cacheDir: string;
}

const isTrue = (v: string | undefined) => v !== undefined && ['1', 'ON', 'YES', 'TRUE'].includes(v.trim().toUpperCase());

export function hfHome(env: NodeJS.ProcessEnv = process.env): string {
  if (env.HF_HOME) return path.resolve(env.HF_HOME);
  const xdg = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(os.homedir(), '.cache');
  return path.join(xdg, 'huggingface');
}

export function hubSettings(env: NodeJS.ProcessEnv = process.env): HubSettings {
  const endpoint = (env.HF_ENDPOINT || DEFAULT_ENDPOINT).replace(/\/+$/, '');
  let token = env.HF_TOKEN || env.HUGGING_FACE_HUB_TOKEN || undefined;
  if (!token) {
    const tokenFile = env.HF_TOKEN_PATH ?? path.join(hfHome(env), 'token');
    try {
      token = fs.readFileSync(tokenFile, 'utf8').trim() || undefined;
    } catch {
      token = undefined;
    }
  }
  const cacheDir = env.HF_HUB_CACHE ? path.resolve(env.HF_HUB_CACHE) : env.HUGGINGFACE_HUB_CACHE ? path.resolve(env.HUGGINGFACE_HUB_CACHE) : path.join(hfHome(env), 'hub');
  return { endpoint, token, offline: isTrue(env.HF_HUB_OFFLINE) || isTrue(env.TRANSFORMERS_OFFLINE), cacheDir };
}
