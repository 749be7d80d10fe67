import { Queue, type Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { telegramRequests } from '../../adapters/telegram/delivery.ts';
import { createTelegramSender } from '../../adapters/telegram/sender.ts';
import {
  ANY_CHAT,
  createDeliveryWorker,
  type DeliveryResult,
  type DeliveryWorkerOptions,
  inFlightLimit,
  OUTBOX_DEDUP_MS,
  Outbox,
  pacedDeliver,
  recording,
} from '../../jobs/delivery.ts';
import { type DeliveryJob, jobIdOf, QUEUES } from '../../jobs/queues.ts';
import { SendPacer } from '../../jobs/send-pacer.ts';
import { type FakeBotApi, startFakeBotApi } from '../support/fake-bot-api.ts';
import { useRedis } from '../support/redis.ts';
import { seeded } from '../support/service.ts';

const redisFixture = useRedis();
/** The eight bytes of a PNG's signature: all a fake platform looks at. */
const TINY_PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).toString('base64');
let fake: FakeBotApi | undefined;
const closers: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0)) await close();
  await fake?.stop();
});

async function pipeline(
  behaviour: Parameters<typeof startFakeBotApi>[0],
  opts: Pick<DeliveryWorkerOptions, 'prepare'> & { gapMs?: number } = {},
) {
  fake = await startFakeBotApi({ random: seeded(7), ...behaviour });
  const prefix = `{${redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '')}q}`;
  // Workers block on their connection, so BullMQ wants one that never gives up on a request.
  const connection = new Redis(redisFixture.url, { maxRetriesPerRequest: null });
  const queue = new Queue<DeliveryJob>(QUEUES.outbox, { connection, prefix });
  const sender = createTelegramSender({ token: '123:delivery', apiRoot: fake.apiRoot });
  const blocked: string[] = [];
  const pacer = new SendPacer(connection, queue.toKey('pace'), 1000);
  const { gapMs, ...rest } = opts;
  // The chats' spacing and lines as the service gives them: an outbox's, whose marks and lines
  // every outbox of the queue shares.
  const outbox = new Outbox(queue, connection);
  const chats =
    gapMs === undefined
      ? undefined
      : new Outbox(queue, connection, undefined, { ...ANY_CHAT, gapMs: () => gapMs }).spacing;
  const worker: Worker<DeliveryJob> = createDeliveryWorker(
    (patientId, message) => sender.send(patientId.slice(3), message),
    {
      connection,
      prefix,
      pacing: () => pacer,
      concurrency: 5,
      log: pino({ level: 'silent' }),
      ...rest,
      chats,
      lines: outbox.lines,
      onBlocked: async (patientId) => {
        blocked.push(patientId);
      },
    },
  );
  closers.push(
    () => worker.close(true),
    () => queue.obliterate({ force: true }),
    () => queue.close(),
    () => connection.quit(),
  );
  return { queue, connection, worker, outbox, blocked, fake };
}

/**
 * The worker and a fast-path outbox with a chat's gap of a second, against a fake that answers 429
 * above one message a second in a chat; `sentAt`: when each message to a chat reached it.
 */
async function strictChats() {
  const gapMs = 1000;
  const p = await pipeline({ rateLimit: { perSecond: 1000, perChatPerSecond: 1, retryAfter: 1 } }, { gapMs });
  const sender = createTelegramSender({ token: '123:delivery', apiRoot: p.fake.apiRoot });
  const outbox = new Outbox(
    p.queue,
    p.connection,
    {
      deliver: (id, message) => sender.send(id.slice(3), message),
      limit: inFlightLimit(2).direct,
      redis: p.connection,
      log: pino({ level: 'silent' }),
    },
    { ...ANY_CHAT, gapMs: () => gapMs },
  );
  const sentAt = (chat: string) =>
    p.fake
      .messages()
      .filter((m) => m.chatId === chat)
      .map((m) => m.at);
  return { p, outbox, gapMs, sentAt };
}

describe('delivery', () => {
  it('delivers every message once despite 429s with retry_after and 500s', async () => {
    const p = await pipeline({ fail: { status429Rate: 0.15, status500Rate: 0.1, retryAfter: 1 } });
    const total = 30;
    for (let i = 0; i < total; i++)
      await p.outbox.enqueue(`k${i}`, `tg:${100 + i}`, [{ text: `message ${i}` }]);
    await vi.waitFor(() => expect(p.fake.stats.deliveredPerChat.size).toBe(total), {
      timeout: 60_000,
      interval: 100,
    });
    expect(p.fake.stats.delivered).toBe(total);
    expect(p.fake.stats.status429).toBeGreaterThan(0);
    expect(p.fake.stats.status500).toBeGreaterThan(0);
    // retry_after is honoured for the whole queue: nothing was sent while one was running.
    expect(p.fake.stats.sentDuringRetryAfter).toBe(0);
    await vi.waitFor(async () => expect((await p.queue.getJobCounts('completed')).completed).toBe(total));
  }, 90_000);

  it('sends a step’s messages in order, and a retry resumes after the last one accepted', async () => {
    // Every third request fails: each job is cut off in the middle at least once, and never for long.
    let calls = 0;
    const everyThird = () => (++calls % 3 === 0 ? 0 : 0.99);
    const p = await pipeline({ fail: { status500Rate: 0.5 }, random: everyThird });
    const steps = 6;
    for (let s = 0; s < steps; s++) {
      const texts = [1, 2, 3, 4].map((n) => `step ${s} part ${n}`);
      await p.outbox.enqueue(
        `step${s}`,
        `tg:${500 + s}`,
        texts.map((text) => ({ text })),
      );
    }
    await vi.waitFor(async () => expect((await p.queue.getJobCounts('completed')).completed).toBe(steps), {
      timeout: 60_000,
      interval: 100,
    });
    expect(p.fake.stats.status500).toBeGreaterThan(0);
    for (let s = 0; s < steps; s++) {
      const texts = p.fake
        .messages()
        .filter((m) => m.chatId === String(500 + s))
        .map((m) => m.text);
      expect(texts).toEqual([1, 2, 3, 4].map((n) => `step ${s} part ${n}`));
    }
  }, 90_000);

  it('sends a chat’s deliveries in the order they were queued, one being retried before those behind it', async () => {
    // The first request is answered 500: its job waits out its backoff while the two behind wait.
    let calls = 0;
    const p = await pipeline({ fail: { status500Rate: 0.5 }, random: () => (++calls === 1 ? 0 : 0.99) });
    for (const n of [1, 2, 3]) await p.outbox.enqueue(`r${n}`, 'tg:600', [{ text: `reply ${n}` }]);
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(3), { timeout: 30_000, interval: 50 });
    expect(p.fake.stats.status500).toBe(1);
    expect(p.fake.messages().map((m) => m.text)).toEqual(['reply 1', 'reply 2', 'reply 3']);
    // A job leaves its line when the worker hears it completed, a moment after its send.
    await vi.waitFor(async () => expect(await p.outbox.lines.waiting('tg:600')).toBe(false));
  }, 60_000);

  it('lets a chat’s next delivery go once the one before is refused for good', async () => {
    const p = await pipeline({ blockedChats: new Set(['602']) });
    await p.worker.pause();
    // An empty text is refused (400) by the platform: not worth retrying.
    await p.outbox.enqueue('bad', 'tg:603', [{ text: '' }]);
    await p.outbox.enqueue('good', 'tg:603', [{ text: 'after the refused one' }]);
    await p.outbox.enqueue('blocked', 'tg:602', [{ text: 'never arrives' }]);
    await p.outbox.enqueue('blocked-too', 'tg:602', [{ text: 'nor this' }]);
    await p.worker.resume();
    await vi.waitFor(() => expect(p.fake.messages().map((m) => m.text)).toEqual(['after the refused one']), {
      timeout: 30_000,
      interval: 50,
    });
    await vi.waitFor(async () => expect((await p.queue.getJobCounts('failed')).failed).toBe(3));
    expect(p.blocked).toEqual(['tg:602', 'tg:602']);
    await vi.waitFor(async () => expect(await p.outbox.lines.waiting('tg:603')).toBe(false));
    await vi.waitFor(async () => expect(await p.outbox.lines.waiting('tg:602')).toBe(false));
  }, 60_000);

  it('drops a line’s first entries whose jobs are gone or finished, and lets a job in no line go', async () => {
    const p = await pipeline({});
    await p.worker.pause();
    // First, a job whose add failed after it joined.
    await p.outbox.lines.join('tg:604', 'never-added');
    // Then one that ends without leaving this line, as after a crash between the two: it is
    // another chat's job, so it leaves that chat's line instead.
    await p.outbox.lines.join('tg:604', 'ends-elsewhere');
    await p.queue.add(
      'deliver',
      { patientId: 'tg:606', messages: [{ text: 'elsewhere' }] },
      { jobId: 'ends-elsewhere' },
    );
    // Then one removed.
    await p.outbox.enqueue('removed', 'tg:604', [{ text: 'removed before it went' }]);
    await (await p.queue.getJob(jobIdOf('tg:604', 'removed')))?.remove();
    await p.outbox.enqueue('next', 'tg:604', [{ text: 'next in line' }]);
    // Queued before lines existed: in none.
    await p.queue.add(
      'deliver',
      { patientId: 'tg:605', messages: [{ text: 'in no line' }] },
      { jobId: 'old' },
    );
    await p.worker.resume();
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(3), { timeout: 30_000, interval: 50 });
    expect(
      p.fake
        .messages()
        .map((m) => m.text)
        .sort(),
    ).toEqual(['elsewhere', 'in no line', 'next in line']);
    await vi.waitFor(async () => expect(await p.outbox.lines.waiting('tg:604')).toBe(false));
  }, 60_000);

  it('adds a message with the same idempotency key once', async () => {
    const p = await pipeline({});
    for (let i = 0; i < 3; i++) await p.outbox.enqueue('same-key', 'tg:7', [{ text: 'once' }]);
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(1));
    await p.outbox.enqueue('same-key', 'tg:7', [{ text: 'once' }]);
    // The finished job is not what keeps it out: once it is gone, the idempotency key still does.
    const [job] = await p.queue.getJobs(['completed']);
    await job?.remove();
    expect(await p.queue.getJobCounts('completed')).toEqual({ completed: 0 });
    await p.outbox.enqueue('same-key', 'tg:7', [{ text: 'once' }]);
    await p.outbox.enqueue('other-key', 'tg:7', [{ text: 'another' }]);
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(2));
    expect(p.fake.messages().map((m) => m.text)).toEqual(['once', 'another']);
  });

  it('checks a message’s idempotency key unless the step is fresh, whose key nothing used yet', async () => {
    const p = await pipeline({});
    await p.worker.pause();
    const exists = vi.spyOn(p.connection, 'exists');
    await p.outbox.enqueue('fresh-key', 'tg:8', [{ text: 'first' }], { fresh: true });
    expect(exists).not.toHaveBeenCalled();
    await p.outbox.enqueue('fresh-key', 'tg:8', [{ text: 'first' }]);
    expect(exists).toHaveBeenCalledTimes(1);
    exists.mockRestore();
    expect((await p.queue.getJobs(['waiting'])).map((j) => j.data.messages[0]?.text)).toEqual(['first']);
  });

  it('forgets a recipient’s queued and kept messages but the one it is told to keep', async () => {
    const p = await pipeline({});
    await p.worker.pause();
    await p.outbox.enqueue('a', 'tg:7', [{ text: 'one' }]);
    await p.outbox.enqueue('b', 'tg:7', [{ text: 'two' }]);
    await p.outbox.enqueue('goodbye', 'tg:7', [{ text: 'bye' }]);
    await p.outbox.enqueue('c', 'tg:70', [{ text: 'someone else' }]);

    expect(await p.outbox.lines.waiting('tg:7')).toBe(true);
    expect(await p.outbox.forget('tg:7', 'goodbye')).toBe(2);
    // Its line went too: the kept message, in none, goes when it runs.
    expect(await p.outbox.lines.waiting('tg:7')).toBe(false);
    const left = await p.queue.getJobs(['waiting']);
    expect(left.map((j) => j.data.messages[0]?.text).sort()).toEqual(['bye', 'someone else']);
    // Their idempotency keys went too; the kept message's stays.
    const sent = await p.connection.keys(p.queue.toKey('sent:*'));
    expect(sent.map((k) => decodeURIComponent(k.slice(p.queue.toKey('sent:').length))).sort()).toEqual([
      'tg:70|c',
      'tg:7|goodbye',
    ]);
  });

  it('sends a picture apart from a text too long for its caption, and a retried text alone', async () => {
    const p = await pipeline({ fail: { status500Rate: 1, methods: ['sendMessage'] } });
    const outbox = new Outbox(p.queue, p.connection, undefined, {
      ...ANY_CHAT,
      requests: (_, message) => telegramRequests(message),
    });
    const review = 'Your week. '.repeat(120);
    await outbox.enqueue('review', 'tg:31', [
      { text: review, image: { png: TINY_PNG, alt: 'Your pain and sessions' } },
      { text: 'Today’s session' },
    ]);
    const [job] = await p.queue.getJobs(['waiting', 'active', 'delayed']);
    expect(job?.data.messages.map((m) => [m.text.length, m.image?.alt])).toEqual([
      [0, 'Your pain and sessions'],
      [review.length, undefined],
      ['Today’s session'.length, undefined],
    ]);
    // The text fails until the platform recovers; its job resumes after the picture.
    await vi.waitFor(() => expect(p.fake.stats.status500).toBeGreaterThan(0));
    p.fake.setBehaviour({ fail: undefined });
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(2), { timeout: 15_000, interval: 100 });
    expect(p.fake.messages().map((m) => [m.method, m.text?.length])).toEqual([
      ['sendPhoto', undefined],
      ['sendMessage', review.length],
      ['sendMessage', 'Today’s session'.length],
    ]);
    expect(p.fake.stats.photos).toBe(1);
  }, 30_000);

  it('prepares a message before its slot, once, however often the platform asks it to wait', async () => {
    const prepared: { text: string; requestsBefore: number }[] = [];
    const requests = () => [...(fake?.stats.requests.values() ?? [])].reduce((sum, n) => sum + n, 0);
    const p = await pipeline(
      { fail: { status429Rate: 1, retryAfter: 1 } },
      {
        prepare: async (message) => {
          prepared.push({ text: message.text, requestsBefore: requests() });
          return { ...message, text: `${message.text}, drawn` };
        },
      },
    );
    await p.outbox.enqueue('weekly', 'tg:32', [{ text: 'Your week' }]);
    await vi.waitFor(() => expect(p.fake.stats.status429).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
    p.fake.setBehaviour({ fail: undefined });
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(1), { timeout: 10_000 });
    expect(prepared).toEqual([{ text: 'Your week', requestsBefore: 0 }]);
    expect(p.fake.messages().map((m) => m.text)).toEqual(['Your week, drawn']);
  }, 30_000);

  it('keeps a chat’s gap between a delivery’s messages, queued or sent at once: no 429 from a strict chat', async () => {
    const { p, outbox, gapMs, sentAt } = await strictChats();
    const texts = (chat: string) =>
      p.fake
        .messages()
        .filter((m) => m.chatId === chat)
        .map((m) => m.text);
    await outbox.enqueue('monday', 'tg:41', [{ text: 'review' }, { text: 'session' }, { text: 'tip' }]);
    await outbox.sendNow('monday', 'tg:42', [{ text: 'review' }, { text: 'session' }]);
    // The fast path sent the first and left the second to wait out the gap, not holding its turn.
    expect(texts('42')).toEqual(['review']);
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(5), { timeout: 15_000, interval: 100 });
    expect(texts('41')).toEqual(['review', 'session', 'tip']);
    expect(texts('42')).toEqual(['review', 'session']);
    expect(p.fake.stats.status429).toBe(0);
    for (const chat of ['41', '42']) {
      const at = sentAt(chat);
      for (const [i, t] of at.slice(1).entries()) expect(t - (at[i] as number)).toBeGreaterThanOrEqual(gapMs);
    }
  }, 30_000);

  it('keeps a chat’s gap from one delivery to the next: a reply right after a push waits, other chats do not', async () => {
    const { p, outbox, gapMs, sentAt } = await strictChats();
    const sent = () => p.fake.messages().map((m) => `${m.chatId}:${m.text}`);

    await outbox.sendNow('push', 'tg:43', [{ text: 'push' }]);
    await outbox.enqueue('reply-1', 'tg:43', [{ text: 'reply 1' }]);
    await outbox.enqueue('other', 'tg:44', [{ text: 'other' }]);
    await vi.waitFor(() => expect(sent()).toContain('43:reply 1'), { timeout: 10_000, interval: 50 });
    await outbox.enqueue('reply-2', 'tg:43', [{ text: 'reply 2' }]);
    await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(4), { timeout: 10_000, interval: 50 });

    // The other chat's message did not wait behind the held reply.
    expect(sent()).toEqual(['43:push', '44:other', '43:reply 1', '43:reply 2']);
    expect(p.fake.stats.status429).toBe(0);
    const at = sentAt('43');
    for (const [i, t] of at.slice(1).entries()) expect(t - (at[i] as number)).toBeGreaterThanOrEqual(gapMs);
  }, 30_000);

  it('gives up at once on a user who blocked the bot and reports them', async () => {
    const p = await pipeline({ blockedChats: new Set(['9']) });
    await p.outbox.enqueue('b1', 'tg:9', [{ text: 'hello' }]);
    await vi.waitFor(async () => expect((await p.queue.getJobCounts('failed')).failed).toBe(1));
    expect(p.blocked).toEqual(['tg:9']);
    expect(p.fake.stats.status403).toBe(1);
  });

  it('finishes a queued message whose record and chat mark failed once it was sent, reporting both: no second send', async () => {
    const p = await pipeline({});
    await p.worker.close();
    const lines: { level: number; msg: string }[] = [];
    const sends: string[] = [];
    const pacer = new SendPacer(p.connection, p.queue.toKey('pace'), 1000);
    const worker = createDeliveryWorker(
      async (_, message) => {
        sends.push(message.text);
        return { ok: true, recorded: recording(Promise.reject(new Error('connection lost'))) };
      },
      {
        connection: p.connection,
        prefix: p.queue.opts.prefix as string,
        pacing: () => pacer,
        concurrency: 1,
        log: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) }),
        chats: {
          gapMs: () => 1000,
          freeIn: async () => 0,
          sent: () => Promise.reject(new Error('connection lost')),
        },
        lines: p.outbox.lines,
        onBlocked: async () => undefined,
      },
    );
    closers.unshift(() => worker.close(true));
    await p.outbox.enqueue('w1', 'tg:31', [{ text: 'question' }]);
    await vi.waitFor(async () => expect((await p.queue.getJobCounts('completed')).completed).toBe(1));
    expect(sends).toEqual(['question']);
    expect(lines.filter((l) => l.level >= 40).map((l) => l.msg)).toEqual(
      expect.arrayContaining([
        'message sent, but which message carries its question was not recorded: its buttons stay',
        'message sent, but not its chat’s gap: the next may come too soon',
      ]),
    );
  });

  describe('sendNow, the fast path', () => {
    /** An outbox sending straight to the fake, with its worker paused: a job is what fell back. */
    async function direct(behaviour: Parameters<typeof startFakeBotApi>[0]) {
      const p = await pipeline(behaviour);
      await p.worker.pause();
      const sender = createTelegramSender({ token: '123:delivery', apiRoot: p.fake.apiRoot });
      const pacer = new SendPacer(p.connection, p.queue.toKey('pace'), 1000);
      const delivered: string[] = [];
      const outbox = new Outbox(p.queue, p.connection, {
        deliver: pacedDeliver(
          (id, message) => sender.send(id.slice(3), message),
          () => pacer,
          {
            retries: 0,
            log: pino({ level: 'silent' }),
          },
        ),
        limit: inFlightLimit(2).direct,
        redis: p.connection,
        log: pino({ level: 'silent' }),
        delivered: (recipient) => delivered.push(recipient),
      });
      return { ...p, outbox, pacer, delivered };
    }
    const waiting = async (queue: Queue<DeliveryJob>) =>
      (await queue.getJobs(['waiting'])).map((j) => j.data);

    it('sends at once, queues nothing, and keeps the idempotency key', async () => {
      const p = await direct({});
      await p.outbox.sendNow('k1', 'tg:11', [{ text: 'one' }, { text: 'two' }]);
      expect(p.fake.messages().map((m) => [m.chatId, m.text])).toEqual([
        ['11', 'one'],
        ['11', 'two'],
      ]);
      expect(p.delivered).toEqual(['tg:11', 'tg:11']);
      expect(await waiting(p.queue)).toEqual([]);
      // The same key again, fast path or queue, sends nothing.
      await p.outbox.sendNow('k1', 'tg:11', [{ text: 'one' }, { text: 'two' }]);
      await p.outbox.enqueue('k1', 'tg:11', [{ text: 'one' }, { text: 'two' }]);
      expect(p.fake.stats.delivered).toBe(2);
      expect(await waiting(p.queue)).toEqual([]);
    });

    it('queues what the platform refused, from the first message it did not take', async () => {
      // Every second request is answered 500: the first message goes, the second falls back.
      let calls = 0;
      const p = await direct({ fail: { status500Rate: 0.5 }, random: () => (++calls % 2 === 0 ? 0 : 0.99) });
      await p.outbox.sendNow('k2', 'tg:12', [{ text: 'first' }, { text: 'second' }, { text: 'third' }]);
      expect(p.fake.messages().map((m) => m.text)).toEqual(['first']);
      expect(await waiting(p.queue)).toEqual([
        { patientId: 'tg:12', messages: [{ text: 'second' }, { text: 'third' }] },
      ]);
      // The worker takes it from there, once.
      await p.outbox.sendNow('k2', 'tg:12', [{ text: 'first' }, { text: 'second' }, { text: 'third' }]);
      p.fake.setBehaviour({ fail: undefined });
      await p.worker.resume();
      await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(3));
      expect(p.fake.messages().map((m) => m.text)).toEqual(['first', 'second', 'third']);
    });

    it('queues a message for a chat with deliveries queued, behind them, instead of overtaking them', async () => {
      // The reply's first try is answered 500: it waits in the queue for its retry.
      let calls = 0;
      const p = await direct({ fail: { status500Rate: 0.5 }, random: () => (++calls === 1 ? 0 : 0.99) });
      await p.outbox.sendNow('reply', 'tg:14', [{ text: 'the reply' }]);
      expect(await waiting(p.queue)).toEqual([{ patientId: 'tg:14', messages: [{ text: 'the reply' }] }]);
      await p.outbox.sendNow('push', 'tg:14', [{ text: 'the push' }], { fresh: true });
      await p.outbox.sendNow('elsewhere', 'tg:15', [{ text: 'another chat' }], { fresh: true });
      // Only the other chat's went at once.
      expect(p.fake.messages().map((m) => m.text)).toEqual(['another chat']);
      expect((await waiting(p.queue)).map((d) => d.messages[0]?.text).sort()).toEqual([
        'the push',
        'the reply',
      ]);
      await p.worker.resume();
      await vi.waitFor(() => expect(p.fake.stats.delivered).toBe(3), { timeout: 30_000, interval: 50 });
      expect(p.fake.messages().map((m) => m.text)).toEqual(['another chat', 'the reply', 'the push']);
      // Nothing queued any more: the next goes at once again.
      await p.outbox.sendNow('later', 'tg:14', [{ text: 'later' }], { fresh: true });
      expect(p.fake.stats.delivered).toBe(4);
      expect(await waiting(p.queue)).toEqual([]);
    }, 60_000);

    it('on a 429 holds every sender back for its retry-after and queues the message', async () => {
      const p = await direct({ fail: { status429Rate: 1, retryAfter: 2 } });
      const [seconds] = await p.connection.time();
      await p.outbox.sendNow('k3', 'tg:13', [{ text: 'later' }]);
      expect(p.fake.stats.delivered).toBe(0);
      expect(await waiting(p.queue)).toEqual([{ patientId: 'tg:13', messages: [{ text: 'later' }] }]);
      // The next slot anyone gets is after the platform's two seconds.
      p.fake.setBehaviour({ fail: undefined });
      expect((await p.pacer.slot()).at).toBeGreaterThanOrEqual((Number(seconds) + 2) * 1_000_000);
    });

    /** An outbox and a delivery worker sharing one limit, each message taking a little while. */
    async function sharing(concurrency: number) {
      fake = await startFakeBotApi({});
      const sender = createTelegramSender({ token: '123:delivery', apiRoot: fake.apiRoot });
      const prefix = `{${redisFixture.prefix().replace(/[^A-Za-z0-9_-]/g, '')}q}`;
      const connection = new Redis(redisFixture.url, { maxRetriesPerRequest: null });
      const queue = new Queue<DeliveryJob>(QUEUES.outbox, { connection, prefix });
      const seen = { inFlight: 0, most: 0, order: [] as string[] };
      // Each message takes a little while, so both paths have many waiting at once.
      const deliver = async (id: string, message: { text: string }) => {
        seen.most = Math.max(seen.most, ++seen.inFlight);
        try {
          await new Promise((resolve) => setTimeout(resolve, 20));
          seen.order.push(message.text);
          return await sender.send(id.slice(3), message);
        } finally {
          seen.inFlight--;
        }
      };
      const pacer = new SendPacer(connection, queue.toKey('pace'), 1000);
      const limit = inFlightLimit(concurrency);
      const log = pino({ level: 'silent' });
      const outbox = new Outbox(queue, connection, {
        deliver: pacedDeliver(deliver, () => pacer, { retries: 0, log }),
        limit: limit.direct,
        redis: connection,
        log,
      });
      const worker = createDeliveryWorker(deliver, {
        connection,
        prefix,
        pacing: () => pacer,
        concurrency: 10,
        limit: limit.queued,
        lines: outbox.lines,
        log,
        onBlocked: async () => undefined,
      });
      closers.push(
        () => worker.close(true),
        () => queue.obliterate({ force: true }),
        () => queue.close(),
        () => connection.quit(),
      );
      return { outbox, seen, fake };
    }

    it('shares its limit with the delivery worker: no more messages in flight than it, both paths busy', async () => {
      const { outbox, seen, fake } = await sharing(3);
      for (let i = 0; i < 15; i++) await outbox.enqueue(`q${i}`, `tg:${300 + i}`, [{ text: `queued ${i}` }]);
      await Promise.all(
        Array.from({ length: 15 }, (_, i) =>
          outbox.sendNow(`d${i}`, `tg:${400 + i}`, [{ text: `direct ${i}` }]),
        ),
      );
      await vi.waitFor(() => expect(fake.stats.delivered).toBe(30), { timeout: 20_000 });
      expect(seen.most).toBe(3);
    });

    it('lets a queued message (a reply) go before the pushes still waiting for their turn', async () => {
      const { outbox, seen, fake } = await sharing(1);
      const pushes = Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          outbox.sendNow(`d${i}`, `tg:${500 + i}`, [{ text: `push ${i}` }]),
        ),
      );
      await vi.waitFor(() => expect(seen.order.length).toBeGreaterThan(0));
      await outbox.enqueue('reply', 'tg:600', [{ text: 'reply' }]);
      await pushes;
      await vi.waitFor(() => expect(fake.stats.delivered).toBe(21), { timeout: 20_000 });
      // One push at a time, 20 ms each: the reply goes out as soon as the worker has it, not last.
      expect(seen.order.indexOf('reply')).toBeLessThan(15);
    });

    /** An outbox whose deliveries answer as `answer` says, one message in flight at a time. */
    async function recordingOutbox(answer: (text: string) => Promise<DeliveryResult>) {
      const p = await pipeline({});
      await p.worker.pause();
      const lines: { level: number; msg: string }[] = [];
      const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
      const sends: string[] = [];
      const outbox = new Outbox(p.queue, p.connection, {
        deliver: async (_, message) => {
          sends.push(message.text);
          return answer(message.text);
        },
        limit: inFlightLimit(1).direct,
        redis: p.connection,
        log,
      });
      return { ...p, outbox, sends, lines };
    }

    it('ends a message’s turn with its send, and waits for what is recorded about it after', async () => {
      let recorded: () => void = () => undefined;
      const held = new Promise<void>((resolve) => {
        recorded = resolve;
      });
      const p = await recordingOutbox(async (text) =>
        text === 'first' ? { ok: true, recorded: recording(held) } : { ok: true },
      );
      let firstDone = false;
      const first = p.outbox.sendNow('r1', 'tg:21', [{ text: 'first' }]).then(() => {
        firstDone = true;
      });
      // One message in flight at a time, yet the second goes while the first's record is pending.
      await p.outbox.sendNow('r2', 'tg:22', [{ text: 'second' }]);
      expect(p.sends).toEqual(['first', 'second']);
      expect(firstDone).toBe(false);
      recorded();
      await first;
      expect(await waiting(p.queue)).toEqual([]);
    });

    it('keeps a sent message whose record failed: reported, marked sent, not queued again', async () => {
      const p = await recordingOutbox(async () => ({
        ok: true,
        recorded: recording(Promise.reject(new Error('connection lost'))),
      }));
      await p.outbox.sendNow('r3', 'tg:23', [{ text: 'sent once' }]);
      expect(p.lines.filter((l) => l.level >= 50).map((l) => l.msg)).toEqual([
        'message sent, but which message carries its question was not recorded: its buttons stay',
      ]);
      expect(await waiting(p.queue)).toEqual([]);
      await p.outbox.sendNow('r3', 'tg:23', [{ text: 'sent once' }]);
      expect(p.sends).toEqual(['sent once']);
    });

    it('marks many messages sent, and their chats, in a few commands, each under its own key', async () => {
      const p = await pipeline({});
      await p.worker.pause();
      const outbox = new Outbox(
        p.queue,
        p.connection,
        {
          deliver: async () => ({ ok: true }),
          limit: inFlightLimit(50).direct,
          redis: p.connection,
          log: pino({ level: 'silent' }),
        },
        { ...ANY_CHAT, gapMs: () => 1000 },
      );
      const scripted = p.connection as unknown as { backcoachMark(...args: unknown[]): Promise<void> };
      const mark = scripted.backcoachMark.bind(p.connection);
      let commands = 0;
      scripted.backcoachMark = (...args) => {
        commands++;
        return mark(...args);
      };
      const keys = Array.from({ length: 40 }, (_, i) => `m${i}`);
      await Promise.all(keys.map((key, i) => outbox.sendNow(key, `tg:${800 + i}`, [{ text: 'hello' }])));
      expect(commands).toBeLessThan(10);
      const sentKeys = keys.map((key, i) => p.queue.toKey(`sent:${jobIdOf(`tg:${800 + i}`, key)}`));
      expect(await p.connection.exists(...sentKeys)).toBe(40);
      const ttl = await p.connection.pttl(sentKeys[0] as string);
      expect(ttl).toBeGreaterThan(OUTBOX_DEDUP_MS - 60_000);
      // Each chat keeps its last request for the gap: what a reply to it would wait out.
      const waits = await Promise.all(keys.map((_, i) => outbox.spacing.freeIn(`tg:${800 + i}`)));
      for (const wait of waits) expect(wait).toBeGreaterThan(0);
      for (const wait of waits) expect(wait).toBeLessThanOrEqual(1000);
      expect(await outbox.spacing.freeIn('tg:799')).toBe(0);
    });

    it('queues a message when sending throws', async () => {
      const p = await pipeline({});
      await p.worker.pause();
      const outbox = new Outbox(p.queue, p.connection, {
        deliver: async () => {
          throw new Error('connection reset');
        },
        limit: inFlightLimit(1).direct,
        redis: p.connection,
        log: pino({ level: 'silent' }),
      });
      await outbox.sendNow('k4', 'tg:14', [{ text: 'kept' }]);
      expect(await waiting(p.queue)).toEqual([{ patientId: 'tg:14', messages: [{ text: 'kept' }] }]);
    });
  });
});

describe('pacedDeliver', () => {
  const silent = pino({ level: 'silent' });

  it('moves its pace back for a request that left later than its slot allowed, and for no other', async () => {
    const redis = redisFixture.connect();
    const pacer = new SendPacer(redis, `${redisFixture.prefix()}pace`, 30);
    const nextFree = async () => Number(await redis.get(pacer.key));
    let lateBy = 0;
    const deliver = pacedDeliver(
      async (_, __, departure) => {
        if (lateBy > 0) departure?.leftLate((departure?.lateAfter ?? 0) + lateBy);
        return { ok: true };
      },
      () => pacer,
      { retries: 0, log: silent },
    );
    await deliver('tg:1', { text: 'on time' });
    const onTime = await nextFree();
    lateBy = 200;
    await deliver('tg:2', { text: 'late' });
    // Its slot came at `onTime` or after; the 29 after it may come back to back from the next free
    // slot, the last no sooner than a second and the way's 30 ms after it left.
    await vi.waitFor(async () =>
      expect(await nextFree()).toBeGreaterThanOrEqual(onTime + 200_000 + 1_040_000 - 29 * pacer.interval),
    );
  });

  it('reports a pace that could not make room after a late request, and keeps the message sent', async () => {
    const lines: { level: number; msg: string; patientId?: string }[] = [];
    const log = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const deliver = pacedDeliver(
      async (_, __, departure) => {
        departure?.leftLate(performance.now());
        return { ok: true };
      },
      () => ({
        slot: async () => ({ at: 0, lateAfter: performance.now() - 50, index: 0, roomUs: 0 }),
        pause: async () => {},
        leftLate: async () => {
          throw new Error('Connection is closed.');
        },
      }),
      { retries: 0, log },
    );
    expect(await deliver('tg:3', { text: 'late' })).toEqual({ ok: true });
    await vi.waitFor(() =>
      expect(lines.filter((l) => l.level === 40)).toEqual([
        expect.objectContaining({
          msg: 'a request left late and its pace could not make room',
          patientId: 'tg:3',
        }),
      ]),
    );
  });
});
