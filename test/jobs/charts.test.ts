import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { ChartPool } from '../../jobs/chart-pool.ts';
import { type DrawChart, drawingCharts, imageOf, pictureApart } from '../../jobs/charts.ts';
import { type Deliver, type DeliveryResult, pacedDeliver } from '../../jobs/delivery.ts';
import type { Pace } from '../../jobs/send-pacer.ts';
import type { ChartRequest, OutboundMessage } from '../../src/engine/events.ts';

const chart: ChartRequest = {
  kind: 'pain',
  points: [
    { date: '2026-11-23', pain: 4, session: 'done' },
    { date: '2026-11-24', pain: 3, session: 'partly' },
    { date: '2026-11-26', pain: 3, session: 'skipped' },
  ],
  labels: { title: 'Your pain and sessions', pain: 'Pain', sessions: 'Sessions' },
};

describe('pictureApart', () => {
  it('sends the picture first, closing the question answered, then the text with its buttons', () => {
    const review: OutboundMessage = {
      text: 'Your week',
      chart,
      closes: 6,
      seq: 7,
      choices: [[{ value: 'ok', label: 'OK' }]],
    };
    expect(pictureApart(review)).toEqual([
      { text: '', closes: 6, chart },
      { text: 'Your week', seq: 7, choices: [[{ value: 'ok', label: 'OK' }]] },
    ]);
    const drawn = { text: 'Your week', image: { png: 'iVBO', alt: 'chart' } };
    expect(pictureApart(drawn)).toEqual([{ text: '', image: drawn.image }, { text: 'Your week' }]);
  });

  it('leaves a message without a picture as it is', () => {
    const message = { text: 'Today’s session', seq: 3 };
    expect(pictureApart(message)).toEqual([message]);
  });
});

describe('drawingCharts', () => {
  it('draws before the slot, once, however often the platform asks to wait', async () => {
    const log: string[] = [];
    const draw: DrawChart = async (c) => {
      log.push('draw');
      return { png: 'iVBO', alt: c.labels.title };
    };
    const pace: Pace = {
      slot: async () => {
        log.push('slot');
        return { at: 0, lateAfter: Number.POSITIVE_INFINITY, index: 0, roomUs: 0 };
      },
      leftLate: async () => {},
      pause: async (ms) => {
        log.push(`pause ${ms}`);
      },
    };
    const answers: DeliveryResult[] = [
      { ok: false, retryAfterMs: 1000 },
      { ok: false, retryAfterMs: 2000 },
    ];
    const platform: Deliver = async (_, message) => {
      log.push(`send ${message.image?.alt ?? 'no picture'}${message.chart ? ' and a chart' : ''}`);
      return answers.shift() ?? { ok: true };
    };
    const deliver = drawingCharts(
      pacedDeliver(platform, () => pace, { retries: 5, log: pino({ level: 'silent' }) }),
      draw,
    );
    expect(await deliver('tg:1', { text: 'Your week', chart })).toEqual({ ok: true });
    expect(log).toEqual([
      'draw',
      'slot',
      'send Your pain and sessions',
      'pause 1000',
      'slot',
      'send Your pain and sessions',
      'pause 2000',
      'slot',
      'send Your pain and sessions',
    ]);
  });
});

describe('ChartPool', () => {
  const pool = new ChartPool({ threads: 1 });
  afterAll(() => pool.close());

  it('draws on its thread the very picture the main thread would', async () => {
    const [onThread, here] = await Promise.all([pool.draw(chart), imageOf(chart)]);
    expect(onThread.alt).toBe('Your pain and sessions');
    expect(Buffer.from(onThread.png, 'base64').subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect(onThread.png).toBe(here.png);
  }, 60_000);

  it('reports a chart it cannot draw to the caller', async () => {
    const bad = { ...chart, points: [{ date: '2026-1-5', pain: 3 }] } as ChartRequest;
    await expect(pool.draw(bad)).rejects.toThrow(/YYYY-MM-DD/);
  }, 60_000);
});
