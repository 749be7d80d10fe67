/**
 * A `StepPool` thread: plans steps as the store's own `planStep` does, with the engine and the
 * content loaded here once.
 */
import { workerData } from 'node:worker_threads';
import { step } from '../engine/step.ts';
import { loadContent } from './content-loader.ts';
import { type Plan, type PlanInput, planSafely } from './store.ts';

const content = loadContent((workerData as { contentDir: string }).contentDir);

export default function planMany(inputs: PlanInput[]): (Plan | null)[] {
  return inputs.map((input) => {
    const plan = planSafely(input, (state) => step(state, input.event, input.now, content));
    // A small Buffer is a view into a shared 8 KB slab, all of which would be copied back.
    const write = plan?.write;
    if (write?.kind === 'record') write.record = new Uint8Array(write.record);
    if ((write?.kind === 'record' || write?.kind === 'cleared') && write.pending !== null)
      write.pending = new Uint8Array(write.pending);
    return plan;
  });
}
