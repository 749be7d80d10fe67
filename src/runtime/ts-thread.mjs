// The entry of a worker thread that runs a TypeScript module (`workerData.module`) as a Piscina
// task. It registers tsx itself: on Node 20 a thread's `--import tsx` does not reliably take
// effect before the thread's first import, which then fails as an unknown file extension.
import { workerData } from 'node:worker_threads';
import { register } from 'tsx/esm/api';

register();
const { default: task } = await import(workerData.module);
export default task;
