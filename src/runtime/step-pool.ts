import { resolve } from 'node:path';
import type { Piscina } from 'piscina';
import type { PatientState } from '../engine/state.ts';
import { type ApplyResult, type Plan, type PlanInput, type StoreWrite, stateOfRecord } from './store.ts';
import { typeScriptPool } from './thread-pool.ts';

/** A plan whose new state is left in its record (see `StepPool.planMany`). */
interface StatelessPlan {
  result: Omit<ApplyResult, 'state'>;
  write: Extract<StoreWrite, { kind: 'record' }>;
}

/** A plan as a thread sends it back. */
export type ThreadPlan = Plan | StatelessPlan;

const isStateless = (plan: ThreadPlan): plan is StatelessPlan => !('state' in plan.result);

/**
 * Worker threads for the pure part of a fan-out's steps: reading the record, the engine's step,
 * checking and packing the new record. That is most of a timer's CPU, so a worker process whose
 * main thread does the I/O (Redis, the platform) uses more than one core.
 */
export class StepPool {
  private readonly pool: Piscina;

  constructor(opts: { contentDir: string; threads: number }) {
    this.pool = typeScriptPool(new URL('./step-thread.ts', import.meta.url), {
      minThreads: opts.threads,
      maxThreads: opts.threads,
      // The thread loads the same content the process did, from the same place.
      workerData: { contentDir: resolve(opts.contentDir) },
    });
  }

  /**
   * The store's `PlanMany`, on a thread: one task for the whole batch. A new record's state comes
   * back in the record alone and is read from it only when asked for: a fan-out's pushes never ask.
   */
  planMany = async (inputs: PlanInput[]): Promise<(Plan | null)[]> => {
    // A small Buffer is a view into a shared 8 KB slab, all of which would be copied across.
    const plans: (ThreadPlan | null)[] = await this.pool.run(
      inputs.map((input) => ({ ...input, raw: input.raw && new Uint8Array(input.raw) })),
    );
    return plans.map((plan, i) => {
      if (plan === null || !isStateless(plan)) return plan;
      const { key, event } = inputs[i] as PlanInput;
      const record = plan.write.record;
      let state: PatientState | undefined;
      const result: ApplyResult = {
        ...plan.result,
        get state() {
          state ??= stateOfRecord(key, record, event.patientId);
          return state;
        },
      };
      return { result, write: plan.write };
    });
  };

  close(): Promise<void> {
    return this.pool.destroy();
  }
}
