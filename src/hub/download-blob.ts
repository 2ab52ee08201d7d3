/**
 * GETs a file into `<dest>.incomplete`, resuming with `Range: bytes=N-` from whatever an earlier try (or an earlier
 * process) left there: after a dropped connection it retries (up to `retries` times) from the bytes it has. The
 * caller verifies the file and renames it into place.
 */
import fs from 'node:fs';
import { authHeaders } from './file-metadata.js';
import { byteProgress } from './progress.js';

export interface BlobDownload {
  url: string;
  /** Sent only when the URL is on the hub endpoint's origin (never to a redirect target elsewhere). */
  token?: string;
  endpoint: string;
  /** Expected size in bytes (NaN when unknown). */
  size: number;
  label: string;
  log: (m: string) => void;
  retries?: number;
  timeoutMs?: number;
}

function sizeOf(file: string): number {
  try {
    return fs.statSync(file).size;
  } catch {
    return 0;
  }
}

async function attempt(d: BlobDownload, part: string): Promise<void> {
  let have = sizeOf(part);
  if (Number.isFinite(d.size) && have > d.size) {
    fs.rmSync(part, { force: true });
    have = 0;
  }
  if (Number.isFinite(d.size) && have === d.size) return;
  const sameOrigin = new URL(d.url).origin === new URL(d.endpoint).origin;
  const headers: Record<string, string> = { ...(sameOrigin ? authHeaders(d.token) : {}), 'accept-encoding': 'identity' };
  if (have > 0) headers.range = `bytes=${have}-`;
  const res = await fetch(d.url, { headers, redirect: 'follow', signal: AbortSignal.timeout(d.timeoutMs ?? 600_000) });
  if (res.status === 416 && Number.isFinite(d.size) && have === d.size) return;
  if (!res.ok || !res.body) throw Object.assign(new Error(`HTTP ${res.status} ${res.statusText}`), { fatal: res.status >= 400 && res.status < 500 });
  if (have > 0 && res.status !== 206) have = 0; // the server ignored Range: start over
  const out = fs.createWriteStream(part, { flags: have > 0 ? 'a' : 'w' });
  const total = Number.isFinite(d.size) ? d.size : have + Number(res.headers.get('content-length') ?? 0);
  const bar = byteProgress(d.label, total, have, d.log);
  let n = have;
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      n += chunk.length;
      bar.update(n);
    }
  } finally {
    bar.stop();
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
  if (Number.isFinite(d.size) && n < d.size) throw new Error(`connection closed after ${n} of ${d.size} bytes`);
}

/** Downloads into `part` until it is complete; throws after `retries` failed resumptions. */
export async function downloadBlob(d: BlobDownload, part: string): Promise<void> {
  const retries = d.retries ?? 5;
  for (let i = 0; ; i++) {
    try {
      await attempt(d, part);
      return;
    } catch (err) {
      const e = err as Error & { fatal?: boolean; cause?: Error };
      if (e.fatal || i >= retries) throw new Error(`download of ${d.label} failed after ${i + 1} tries: ${e.message}${e.cause ? ` (${e.cause.message})` : ''}`);
      d.log(`hub: ${d.label}: ${e.message}${e.cause ? ` (${e.cause.message})` : ''}; resuming at byte ${sizeOf(part)} (try ${i + 2} of ${retries + 1})`);
      await new Promise((r) => setTimeout(r, 200 * (i + 1)));
    }
  }
}
