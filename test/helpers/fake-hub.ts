/**
 * A loopback Hugging Face hub for tests: serves repos in the hub's URL layout (`/{org}/{name}/resolve/{rev}/{file}`)
 * with its headers (X-Repo-Commit; ETag = git blob SHA-1 for regular files; X-Linked-Etag = SHA-256 and
 * X-Linked-Size for LFS files, which redirect to `http://localhost:<port>/cdn/<sha256>`, another origin, like the real hub's storage), Range requests, and
 * faults on demand: a connection dropped mid-file, a wrong etag, private repos that need a token.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  commit: string;
  files: Record<string, Buffer>;
  /** Requests need `Authorization: Bearer <token>`; without it 401. */
  token?: string;
}

export interface FakeHubRequest {
  method: string;
  url: string;
  range?: string;
  auth: boolean;
  status: number;
}

export interface FakeHub {
  endpoint: string;
  repos: Map<string, FakeRepo>;
  requests: FakeHubRequest[];
  /** Files (`repo/file`) whose next GET is cut after half of the bytes. */
  dropOnce: Set<string>;
  /** Files (`repo/file`) advertised with a wrong SHA-256. */
  wrongHash: Set<string>;
  close(): Promise<void>;
}

const LFS = /\.(safetensors|bin|pt|pth|ckpt)$/;
export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');
export const gitSha1 = (b: Buffer) => createHash('sha1').update(`blob ${b.length}\0`).update(b).digest('hex');
export const fakeCommit = (seed: string) => createHash('sha1').update(seed).digest('hex');

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const hub: Omit<FakeHub, 'endpoint' | 'close'> = { repos: new Map(Object.entries(repos)), requests: [], dropOnce: new Set(), wrongHash: new Set() };
  const byBlob = new Map<string, { key: string; data: Buffer }>();
  const server = http.createServer((req, res) => {
    const url = decodeURI(req.url ?? '/');
    const log = (status: number) => hub.requests.push({ method: req.method ?? '', url, range: req.headers.range, auth: !!req.headers.authorization, status });
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url);
    if (cdn) {
      const blob = byBlob.get(cdn[1]!);
      if (!blob) return (log(404), res.writeHead(404).end());
      let data = blob.data;
      let status = 200;
      const headers: Record<string, string | number> = { 'accept-ranges': 'bytes' };
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m) {
        const start = Number(m[1]);
        if (start >= data.length) return (log(416), res.writeHead(416).end());
        headers['content-range'] = `bytes ${start}-${data.length - 1}/${data.length}`;
        data = data.subarray(start);
        status = 206;
      }
      headers['content-length'] = data.length;
      log(status);
      res.writeHead(status, headers);
      if (req.method === 'HEAD') return res.end();
      if (hub.dropOnce.delete(blob.key)) {
        res.write(data.subarray(0, Math.floor(data.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
        return;
      }
      return res.end(data);
    }
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    const repo = m ? hub.repos.get(m[1]!) : undefined;
    if (!m || !repo) return (log(401), res.writeHead(401, { 'x-error-code': 'RepoNotFound' }).end());
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) return (log(401), res.writeHead(401, { 'x-error-code': 'GatedRepo' }).end());
    const [, name, rev, file] = m;
    if (rev !== 'main' && rev !== repo.commit) return (log(404), res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end());
    const data = repo.files[file!];
    if (!data) return (log(404), res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': repo.commit }).end());
    const key = `${name}/${file}`;
    if (LFS.test(file!)) {
      const sha = sha256(data);
      byBlob.set(sha, { key, data });
      const etag = hub.wrongHash.has(key) ? sha256(Buffer.from('not the file')) : sha;
      log(302);
      // Like the real hub: an absolute URL on another host (the storage), so clients read the hub's headers here.
      const storage = `http://localhost:${(server.address() as AddressInfo).port}/cdn/${sha}`;
      return res.writeHead(302, { location: storage, 'x-repo-commit': repo.commit, 'x-linked-etag': `"${etag}"`, 'x-linked-size': data.length, etag: `"${gitSha1(Buffer.from('pointer'))}"` }).end();
    }
    log(200);
    res.writeHead(200, { 'x-repo-commit': repo.commit, etag: `"${gitSha1(data)}"`, 'content-length': data.length });
    res.end(req.method === 'HEAD' ? undefined : data);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    ...hub,
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  } as FakeHub;
}
