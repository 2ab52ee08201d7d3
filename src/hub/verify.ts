/**
 * Checks a downloaded file against the hub's etag: a 64-hex etag (LFS file) is the SHA-256 of the content, a 40-hex
 * one (a regular git file) is the git blob SHA-1 (`sha1("blob <size>\0" + content)`). Other etags cannot be checked.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';

export type EtagKind = 'sha256' | 'git-sha1' | 'opaque';

export function etagKind(etag: string): EtagKind {
  if (/^[0-9a-f]{64}$/.test(etag)) return 'sha256';
  if (/^[0-9a-f]{40}$/.test(etag)) return 'git-sha1';
  return 'opaque';
}

export async function fileDigest(file: string, kind: Exclude<EtagKind, 'opaque'>): Promise<string> {
  const h = createHash(kind === 'sha256' ? 'sha256' : 'sha1');
  if (kind === 'git-sha1') h.update(`blob ${(await fs.stat(file)).size}\0`);
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Null when the file matches its etag (or the etag is opaque), else a message saying what differs. */
export async function checkEtag(file: string, etag: string): Promise<string | null> {
  const kind = etagKind(etag);
  if (kind === 'opaque') return null;
  const got = await fileDigest(file, kind);
  return got === etag ? null : `${kind === 'sha256' ? 'SHA-256' : 'git blob SHA-1'} mismatch: the hub's etag is ${etag}, the downloaded file hashes to ${got}`;
}
