import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Service } from '../../src/runtime/service.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { useRedis } from '../support/redis.ts';
import { startTestService } from '../support/service.ts';

const redisFixture = useRedis();
const TOKEN = '4720:dashboard-test';
const ADMIN_TOKEN = 'admin-token-for-the-dashboard-0123';
let fake: FakeBotApi;
let service: Service;

beforeAll(async () => {
  fake = await startFakeBotApi({ token: TOKEN });
  ({ service } = await startTestService(redisFixture, {
    TELEGRAM_BOT_TOKEN: TOKEN,
    TELEGRAM_API_ROOT: fake.apiRoot,
    OPS_PORT: '0',
    ADMIN_TOKEN,
  }));
});

afterAll(async () => {
  await service?.stop();
  await fake?.stop();
});

const ops = (path: string, init: RequestInit = {}) =>
  fetch(`http://127.0.0.1:${service.opsPort}${path}`, { redirect: 'manual', ...init });
const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

interface BoardQueue {
  name: string;
  counts: Record<string, number>;
  isPaused: boolean;
  jobs: { data: unknown }[];
}

async function boardQueues(query = ''): Promise<BoardQueue[]> {
  const res = await ops(`/admin/queues/api/queues${query}`, { headers: bearer(ADMIN_TOKEN) });
  expect(res.status).toBe(200);
  return ((await res.json()) as { queues: BoardQueue[] }).queues;
}

describe('the queue dashboard behind ADMIN_TOKEN', () => {
  it('refuses requests without the token, or with a wrong one, asking the browser for a login', async () => {
    const wrong = [
      {},
      bearer('admin-token-for-the-dashboard-0124'),
      bearer(`${ADMIN_TOKEN}x`),
      bearer(''),
      basic('admin', 'not-the-token-at-all-0000'),
      // The token as the user name is not the token as the password.
      basic(ADMIN_TOKEN, ''),
      { authorization: ADMIN_TOKEN },
      { authorization: `Token ${ADMIN_TOKEN}` },
    ];
    for (const headers of wrong) {
      for (const path of ['/admin/queues', '/admin/queues/api/queues', '/admin/anything', '/admin']) {
        const res = await ops(path, { headers });
        expect(res.status, `${path} with ${JSON.stringify(headers)}`).toBe(401);
        expect(res.headers.get('www-authenticate')).toBe('Basic realm="backcoach admin"');
        expect(await res.text()).toBe('');
      }
    }
    // In the query string it is not a credential (and would end up in access logs).
    expect((await ops(`/admin/queues?token=${ADMIN_TOKEN}`)).status).toBe(401);
  });

  it('serves the board with the token as a bearer token or as the Basic password of any user', async () => {
    for (const headers of [bearer(ADMIN_TOKEN), basic('admin', ADMIN_TOKEN), basic('', ADMIN_TOKEN)]) {
      const res = await ops('/admin/queues', { headers });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/text\/html/);
      const page = await res.text();
      expect(page).toContain('<base href="/admin/queues/"');
      // The page's scripts come from under the same path, so the browser's login covers them too.
      const script = /src="(static\/js\/[^"]+\.js)"/.exec(page)?.[1];
      expect(script).toBeDefined();
      expect((await ops(`/admin/queues/${script}`)).status).toBe(401);
      expect((await ops(`/admin/queues/${script}`, { headers })).status).toBe(200);
    }
    // Unknown paths under /admin are the board's 404s, only after the token.
    expect((await ops('/admin/elsewhere', { headers: bearer(ADMIN_TOKEN) })).status).toBe(404);
  });

  it('lists the timers and outbox queues with their counts, and shows no message text', async () => {
    await service.runtime.handle({
      id: 'dashboard-help',
      patientId: 'tg:8201',
      kind: 'command',
      command: 'help',
      args: '',
    });
    await vi.waitFor(async () => {
      const outbox = (await boardQueues()).find((q) => q.name === 'outbox');
      expect(outbox?.counts.completed).toBeGreaterThanOrEqual(1);
    });
    const queues = await boardQueues();
    expect(queues.map((q) => q.name).sort()).toEqual(['outbox', 'timers']);
    for (const queue of queues) {
      for (const state of ['active', 'completed', 'delayed', 'failed', 'waiting']) {
        expect(queue.counts[state], `${queue.name} ${state}`).toEqual(expect.any(Number));
      }
    }

    const [outbox] = (await boardQueues('?activeQueue=outbox&status=completed&page=1&jobsPerPage=10')).filter(
      (q) => q.name === 'outbox',
    );
    expect(outbox?.jobs.length).toBeGreaterThanOrEqual(1);
    expect(outbox?.jobs[0]?.data).toEqual({ patientId: 'tg:8201', messages: expect.any(Number) });
    expect(JSON.stringify(outbox)).not.toMatch(/What I can do/);
  });

  it('takes actions only with the token', async () => {
    const pause = (headers: Record<string, string>) =>
      ops('/admin/queues/api/queues/timers/pause', { method: 'PUT', headers });
    expect((await pause({})).status).toBe(401);
    // Another site's page cannot use the browser's login to press the buttons.
    expect((await pause({ ...bearer(ADMIN_TOKEN), origin: 'https://elsewhere.example' })).status).toBe(403);
    expect((await pause({ ...bearer(ADMIN_TOKEN), 'sec-fetch-site': 'cross-site' })).status).toBe(403);
    expect((await boardQueues()).find((q) => q.name === 'timers')?.isPaused).toBe(false);
    const own = `http://127.0.0.1:${service.opsPort}`;
    expect(
      (await pause({ ...bearer(ADMIN_TOKEN), origin: own, 'sec-fetch-site': 'same-origin' })).status,
    ).toBe(200);
    expect((await boardQueues()).find((q) => q.name === 'timers')?.isPaused).toBe(true);
    const resume = await ops('/admin/queues/api/queues/timers/resume', {
      method: 'PUT',
      headers: bearer(ADMIN_TOKEN),
    });
    expect(resume.status).toBe(200);
    expect((await boardQueues()).find((q) => q.name === 'timers')?.isPaused).toBe(false);
  });

  it('leaves /healthz and /metrics open', async () => {
    expect((await ops('/healthz')).status).toBe(200);
    expect((await ops('/metrics')).status).toBe(200);
  });
});
