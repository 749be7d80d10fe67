/**
 * A `StepPool` thread: plans steps as the store's own `planStep` does, with the engine and the
 * content loaded here once.
 */
import { workerData } from 'node:worker_threads';
import { step } from '../engine/step.ts';
import { loadContent } from './content-loader.ts';
import type { ThreadPlan } from './step-pool.ts';
import { type PlanInput, planSafely } from './store.ts';

const content = loadContent((workerData as { contentDir: string }).contentDir);

export default function planMany(inputs: PlanInput[]): (ThreadPlan | null)[] {
  return inputs.map((input) => {
    const plan = planSafely(input, (state) => step(state, input.event, input.now, content, { owned: true }));
    if (!plan) return null;
    const { write } = plan;
    if (write.kind === 'record') {
      // A small Buffer is a view into a shared 8 KB slab, all of which would be copied back.
      const pending = write.pending && new Uint8Array(write.pending);
      // The new state is in the record: copying it back as objects would cost both threads more
      // than reading it from there, when it is wanted at all.
      const { duplicate, effects } = plan.result;
      return {
        result: { duplicate, effects },
        write: { ...write, record: new Uint8Array(write.record), pending },
      };
    }
    if (write.kind === 'cleared' && write.pending !== null) write.pending = new Uint8Array(write.pending);
    return plan;
  });
}
