/**
 * bench/step: what one push's step costs on the step thread, by the days of history the patient's
 * record holds. `planStep` (read the record, check it, the engine's `drills_due`, check and pack the
 * new record) on the fan-out's template patient (`test/support/fanout.ts`), in a loop.
 *
 *   npm run bench:step -- [--days 0,7,35,90] [--against DIR] [--rounds 24] [--slice-ms 250]
 *
 * With `--against`, the same is timed with the code of another checkout (a `git worktree` of an
 * earlier commit, its `node_modules` linked to this one's), the two alternated in slices in this one
 * process so that the machine's load falls on both alike; the order flips every round, as the one
 * timed second runs a little slower. Each figure is the median over the rounds (the first two are
 * warm-up). Results: docs/PERFORMANCE.md.
 */
import { availableParallelism, cpus } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { intFlag, median, say } from './support.ts';

const { values: args } = parseArgs({
  options: {
    days: { type: 'string', default: '0,7,35,90' },
    against: { type: 'string' },
    rounds: { type: 'string', default: '24' },
    'slice-ms': { type: 'string', default: '250' },
  },
});
const DAYS = (args.days as string).split(',').map((d) => {
  const n = Number(d);
  if (!Number.isInteger(n) || n < 0) throw new Error(`--days: "${d}" is not a number of days`);
  return n;
});
const ROUNDS = intFlag(args, 'rounds', 3);
const SLICE_MS = intFlag(args, 'slice-ms');
const WARM_UP = 2;

/** One push's step with a checkout's own code, ready to run again and again. */
async function stepOf(root: string, days: number): Promise<() => void> {
  const from = (path: string) => import(resolve(root, path));
  const [{ step }, { encodeRecord }, { keysOf, planStep }, { realContent }, { duePatient }, { localDate }] =
    await Promise.all([
      from('src/engine/step.ts'),
      from('src/runtime/record-codec.ts'),
      from('src/runtime/store.ts'),
      from('test/support/content.ts'),
      from('test/support/fanout.ts'),
      from('src/time/local.ts'),
    ]);
  const now = Date.now();
  const content = realContent();
  const { state } = duePatient(now, 'UTC', days);
  const raw = encodeRecord({ ...state, id: 'tg:1' }, new Map(), Buffer.alloc(0), []);
  const event = {
    id: 'bench',
    patientId: 'tg:1',
    kind: 'timer',
    timer: 'drills_due',
    date: localDate(now, 'UTC'),
  };
  const input = { key: keysOf('tg:1').state, raw, seenAt: null, event, now };
  const owned = (s: unknown) => step(s, event, now, content, { owned: true });
  if (planStep(input, owned) === null) throw new Error(`${root}: the template's step planned nothing`);
  return () => planStep(input, owned);
}

/** µs a call, over one slice. */
function slice(run: () => void): number {
  let calls = 0;
  const start = performance.now();
  while (performance.now() - start < SLICE_MS) {
    run();
    calls++;
  }
  return ((performance.now() - start) * 1000) / calls;
}

const here = resolve(import.meta.dirname, '..');
const roots = args.against ? [here, resolve(args.against)] : [here];
say(`bench/step: planStep for one drills_due, ${ROUNDS} rounds of ${SLICE_MS} ms slices`);
say(
  `machine: nproc ${availableParallelism()} (${cpus()[0]?.model.trim() ?? 'unknown'}), node ${process.version}`,
);
say('');
say(
  args.against
    ? `| Days of history | against (${args.against}) | this checkout | this / against |\n| ---: | ---: | ---: | ---: |`
    : '| Days of history | this checkout |\n| ---: | ---: |',
);
for (const days of DAYS) {
  const runs = await Promise.all(roots.map((root) => stepOf(root, days)));
  const times: number[][] = runs.map(() => []);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? runs.map((_, i) => i) : runs.map((_, i) => i).reverse();
    for (const i of order) {
      const us = slice(runs[i] as () => void);
      if (round >= WARM_UP) (times[i] as number[]).push(us);
    }
  }
  const [mine, theirs] = times.map(median) as [number, number | undefined];
  say(
    theirs === undefined
      ? `| ${days} | ${mine.toFixed(0)} µs |`
      : `| ${days} | ${theirs.toFixed(0)} µs | ${mine.toFixed(0)} µs | ${(mine / theirs).toFixed(2)} |`,
  );
}
