import { request } from 'node:http';
import { performance } from 'node:perf_hooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchDepartures } from '../../../adapters/telegram/departures.ts';
import { createTelegramSender } from '../../../adapters/telegram/sender.ts';
import { type FakeBotApi, startFakeBotApi } from '../../support/fake-bot-api.ts';

const TOKEN = '123456:test-token';

/** Keeps this thread busy until `until` (performance.now()), as a long step or a collection does. */
function busyUntil(until: number): void {
  while (performance.now() < until);
}

describe('departures told when the request has left', () => {
  let fake: FakeBotApi;
  beforeEach(async () => {
    fake = await startFakeBotApi({ token: TOKEN });
  });
  afterEach(async () => {
    await fake.stop();
  });

  it('counts what held the request up after the call: a busy spell of its thread', async () => {
    const sender = createTelegramSender({ token: TOKEN, apiRoot: fake.apiRoot });
    const told: number[] = [];
    const start = performance.now();
    // In time as the call starts; the request can only be written once this thread is free again.
    const sent = sender.send(
      '7',
      { text: 'Held up' },
      { lateAfter: start + 5, leftLate: (at) => told.push(at) },
    );
    busyUntil(start + 40);
    await expect(sent).resolves.toMatchObject({ ok: true });
    expect(told).toHaveLength(1);
    expect(told[0]).toBeGreaterThanOrEqual(start + 40);
    expect(fake.stats.delivered).toBe(1);
  });

  it('tells nothing of a request that left in time after a spell shorter than its slack', async () => {
    const sender = createTelegramSender({ token: TOKEN, apiRoot: fake.apiRoot });
    const told: number[] = [];
    const start = performance.now();
    const sent = sender.send(
      '7',
      { text: 'On time' },
      { lateAfter: start + 60_000, leftLate: (at) => told.push(at) },
    );
    busyUntil(start + 20);
    await sent;
    expect(told).toEqual([]);
  });

  it('checks a call that makes no request at once as it starts, and lends its departure to no later request', async () => {
    const watch = watchDepartures(fake.apiRoot);
    const told: number[] = [];
    const late = { lateAfter: performance.now() - 50, leftLate: (at: number) => told.push(at) };
    await watch.departing(late, async () => {
      await Promise.resolve();
    });
    expect(told).toHaveLength(1);
    // A request through the pool afterwards, with no departure of its own, tells nothing.
    await new Promise<void>((resolve, reject) => {
      const req = request(`${fake.apiRoot}/bot${TOKEN}/getMe`, { agent: watch.agent }, (res) => {
        res.resume();
        res.on('end', resolve);
      });
      req.on('error', reject);
      req.end();
    });
    expect(told).toHaveLength(1);
    watch.agent.destroy();
  });
});
