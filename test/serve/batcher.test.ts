import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MicroBatcher } from '../../src/serve/batcher.js';
import { QueueFullError } from '../../src/serve/errors.js';

const doubler = (calls: number[][]) => async (items: number[]) => {
  calls.push([...items]);
  await new Promise((r) => setTimeout(r, 20));
  return items.map((x) => x * 2);
};

test('items submitted together within maxWaitMs share one call; outputs go back to their caller', async () => {
  const calls: number[][] = [];
  const b = new MicroBatcher(doubler(calls), { maxBatch: 8, maxWaitMs: 30, maxQueue: 100 });
  const [a, c, d] = await Promise.all([b.submit([1]), b.submit([2, 3]), b.submit([4])]);
  assert.deepEqual(calls, [[1, 2, 3, 4]]);
  assert.deepEqual([a, c, d].map((r) => r.map((x) => x.output)), [[2], [4, 6], [8]]);
  assert.ok(a[0]!.info.batchSize === 4 && a[0]!.info.queueMs >= 25, JSON.stringify(a[0]!.info));
});

test('maxBatch splits a burst; what queues during a call runs right after it', async () => {
  const calls: number[][] = [];
  const b = new MicroBatcher(doubler(calls), { maxBatch: 3, maxWaitMs: 1000, maxQueue: 100 });
  const t0 = performance.now();
  const out = await b.submit([1, 2, 3, 4, 5, 6, 7]);
  assert.deepEqual(out.map((r) => r.output), [2, 4, 6, 8, 10, 12, 14]);
  assert.deepEqual(calls, [[1, 2, 3], [4, 5, 6], [7]]);
  assert.ok(performance.now() - t0 < 900, 'the tail did not wait for maxWaitMs');
});

test('a full queue refuses the whole submit with QueueFullError (503); an error in the model rejects its batch only', async () => {
  const b = new MicroBatcher(async (items: number[]) => {
    if (items.includes(13)) throw new Error('bad luck');
    return items;
  }, { maxBatch: 4, maxWaitMs: 20, maxQueue: 3 });
  const first = b.submit([1, 2]);
  await assert.rejects(b.submit([3, 4]), (e: unknown) => e instanceof QueueFullError && e.statusCode === 503);
  assert.deepEqual((await first).map((r) => r.output), [1, 2]);
  await assert.rejects(b.submit([13]), /bad luck/);
  assert.deepEqual((await b.submit([5])).map((r) => r.output), [5]);
});
