import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

export type RetryReason = 'rate_limited' | 'error' | 'blocked' | 'rejected';

export interface QueueCounts {
  queue: string;
  counts: Record<string, number>;
}

/**
 * What an operator scrapes: events stepped, messages delivered, delivery retries by reason, the
 * depth of each queue and how late timers run. Counters live in this process; queue depths are read
 * from Redis at each scrape, so any process shows the whole deployment's queues.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly handled: Counter<'kind' | 'duplicate'>;
  readonly delivered: Counter<'platform'>;
  readonly retries: Counter<'reason'>;
  readonly timerLag: Histogram;

  constructor(queueCounts: () => Promise<QueueCounts[]>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'backcoach_' });
    this.handled = new Counter({
      name: 'backcoach_events_handled_total',
      help: 'Events stepped through the engine (updates, taps, timers, coach actions)',
      labelNames: ['kind', 'duplicate'],
      registers,
    });
    this.delivered = new Counter({
      name: 'backcoach_messages_delivered_total',
      help: 'Messages a platform accepted',
      labelNames: ['platform'],
      registers,
    });
    this.retries = new Counter({
      name: 'backcoach_delivery_retries_total',
      help: 'Deliveries that did not go through at once, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.timerLag = new Histogram({
      name: 'backcoach_timer_lag_seconds',
      help: 'How long after its due time a timer (a push, a reminder) ran',
      buckets: [0.5, 1, 5, 15, 60, 300, 1800],
      registers,
    });
    new Gauge({
      name: 'backcoach_queue_jobs',
      help: 'Jobs in each queue by state',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        this.reset();
        for (const { queue, counts } of await queueCounts()) {
          for (const [state, count] of Object.entries(counts)) this.set({ queue, state }, count);
        }
      },
    });
  }

  /** The platform of a recipient id, for labels that never carry the id itself. */
  static platformOf(recipient: string): string {
    return recipient.split(':')[0] ?? 'unknown';
  }
}
