import type { Piscina } from 'piscina';
import { typeScriptPool } from '../src/runtime/thread-pool.ts';
import type { DrawChart } from './charts.ts';

/**
 * Threads that draw charts. A weekly chart takes some 70 ms of CPU (layout, rasterising, PNG), all
 * of it synchronous: on the main thread it would hold up every other message's slot, and a sender
 * woken late for its slot gives it up (or, late enough, sends into the next second's).
 */
export class ChartPool {
  private readonly pool: Piscina;

  constructor(opts: { threads: number }) {
    this.pool = typeScriptPool(new URL('./chart-thread.ts', import.meta.url), {
      minThreads: 0,
      maxThreads: opts.threads,
      // Charts come in bursts (a Monday's reviews, the coaches' digests): a thread's fonts and
      // libraries are not kept in memory all week for them.
      idleTimeout: 60_000,
    });
  }

  draw: DrawChart = (chart) => this.pool.run(chart);

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
