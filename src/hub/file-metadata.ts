/**
 * HEAD `{endpoint}/{repo}/resolve/{revision}/{file}` as huggingface_hub does: relative redirects (a renamed repo) are
 * followed, an absolute one (the LFS/CDN storage) is not, so the hub's own headers are read: X-Repo-Commit, the etag
 * (X-Linked-Etag for LFS files = their SHA-256, else ETag = the git blob SHA-1) and the size (X-Linked-Size).
 */
import { HubHttpError, type HubFileRef } from './errors.js';

export interface HubFileMetadata {
  commit: string;
  etag: string;
  size: number;
  /** Where to GET the bytes (the absolute redirect target when there was one). */
  location: string;
}

export function resolveUrl(endpoint: string, ref: HubFileRef): string {
  const enc = (s: string) => s.split('/').map(encodeURIComponent).join('/');
  return `${endpoint}/${ref.repo}/resolve/${encodeURIComponent(ref.revision)}/${enc(ref.file)}`;
}

export function authHeaders(token: string | undefined): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

const normalizeEtag = (e: string | null) => (e ?? '').replace(/^W\//, '').replace(/^"|"$/g, '');

/** Turns a failed hub response into an error naming repo, revision and file. */
export function httpError(ref: HubFileRef, res: Response, hasToken: boolean): HubHttpError {
  const code = res.headers.get('x-error-code');
  const why = code ? ` (${code})` : '';
  if (res.status === 401 || res.status === 403) {
    const hint = hasToken ? 'the token in HF_TOKEN has no access to it' : 'the repo is private or gated (or does not exist): set HF_TOKEN to a token with access';
    return new HubHttpError(ref, res.status, `access denied, HTTP ${res.status}${why}: ${hint}`);
  }
  if (res.status === 404) return new HubHttpError(ref, 404, `not found, HTTP 404${why}: no such repo, revision or file on the hub`);
  return new HubHttpError(ref, res.status, `HTTP ${res.status} ${res.statusText}${why}`);
}

export async function fetchFileMetadata(endpoint: string, ref: HubFileRef, token: string | undefined, timeoutMs = 30_000): Promise<HubFileMetadata> {
  let url = resolveUrl(endpoint, ref);
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(url, {
      method: 'HEAD',
      redirect: 'manual',
      headers: { ...authHeaders(token), 'accept-encoding': 'identity' },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location && (location.startsWith('/') || new URL(location, url).origin === new URL(url).origin) && !res.headers.get('x-repo-commit')) {
      url = new URL(location, url).toString();
      continue;
    }
    if (res.status >= 400) throw httpError(ref, res, token !== undefined);
    const commit = res.headers.get('x-repo-commit');
    const etag = normalizeEtag(res.headers.get('x-linked-etag') ?? res.headers.get('etag'));
    const size = Number(res.headers.get('x-linked-size') ?? res.headers.get('content-length') ?? NaN);
    if (!commit || !etag) throw new HubHttpError(ref, res.status, `the server at ${endpoint} did not send X-Repo-Commit and ETag headers: is HF_ENDPOINT a Hugging Face hub?`);
    return { commit, etag, size, location: location ? new URL(location, url).toString() : url };
  }
  throw new HubHttpError(ref, 310, 'too many redirects');
}
