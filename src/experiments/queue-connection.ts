import type { ConnectionOptions } from 'bullmq';
import { UserError } from '../util/errors.js';

/** The queue all plumage experiment jobs go through unless --queue-name says otherwise. */
export const DEFAULT_QUEUE_NAME = 'plumage-experiments';

/**
 * Job-lock settings. A worker holds a lock on its job and renews it every lockDuration/2; a worker killed mid-job
 * stops renewing, its lock expires after lockDuration, and the next stalled-job check of any live worker (every
 * stalledInterval) puts the job back in the queue, where it resumes from its run's last checkpoint. lockDuration
 * must exceed the longest stretch a training step blocks the event loop (a validation pass of a large model), or a
 * live job would be taken for a dead one: 120 s by default. maxStalledCount: how many such restarts a job gets
 * before it is marked failed.
 */
export const LOCK_DEFAULTS = { lockDurationS: 120, stalledIntervalS: 30, maxStalledCount: 5 };

/** Parses `redis://HOST:PORT[/DB]` into BullMQ connection options; a bad URL is refused naming --queue. */
export function queueConnection(url: string): ConnectionOptions & { host: string; port: number; db?: number } {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UserError(`--queue: '${url}' is not a URL (expected redis://HOST:PORT)`);
  }
  if (u.protocol !== 'redis:') throw new UserError(`--queue: '${url}' must start with redis:// (expected redis://HOST:PORT)`);
  if (!u.hostname) throw new UserError(`--queue: '${url}' has no host (expected redis://HOST:PORT)`);
  const port = u.port ? Number(u.port) : 6379;
  const db = u.pathname && u.pathname !== '/' ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !(Number.isInteger(db) && db >= 0)) throw new UserError(`--queue: '${url}': database '${u.pathname.slice(1)}' is not a number`);
  return {
    host: u.hostname,
    port,
    ...(db !== undefined ? { db } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    // BullMQ needs unlimited retries per request on its blocking connections.
    maxRetriesPerRequest: null,
  };
}

/** Resolves when `ready` does, or throws a UserError naming the URL after `ms` (a server that is not there). */
export async function waitForRedis(ready: Promise<unknown>, url: string, ms = 10_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new UserError(`--queue: no Redis server answered at ${url} within ${ms / 1000} s`)), ms);
  });
  try {
    await Promise.race([ready, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closes a BullMQ queue/events/worker object; one whose server never answered would wait forever in close(), so
 * after `ms` it is force-disconnected.
 */
export async function closeWithin(x: { close(): Promise<void>; disconnect(): Promise<void> }, ms = 5000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  const r = await Promise.race([x.close().then(() => 'closed' as const), timedOut]);
  clearTimeout(timer);
  if (r === 'timeout') void x.disconnect().catch(() => {}); // may never settle either; the caller exits
}
