import { describe, expect, it } from 'vitest';
import { groupedCalls, groupedWrites } from '../../src/runtime/grouped-calls.ts';

/** A write whose answers the test gives, one group at a time. */
function heldWrites() {
  const groups: string[][] = [];
  const answers: { resolve: () => void; reject: (error: Error) => void }[] = [];
  const write = groupedWrites<string>(
    (items) =>
      new Promise<void>((resolve, reject) => {
        groups.push([...items]);
        answers.push({ resolve, reject });
      }),
  );
  return { write, groups, answers };
}

const settled = (promise: Promise<unknown>) =>
  promise.then(
    () => 'written',
    (error: Error) => `failed: ${error.message}`,
  );

describe('groupedWrites', () => {
  it('writes a lone item at once', async () => {
    const { write, groups, answers } = heldWrites();
    const done = settled(write('a'));
    await Promise.resolve();
    await Promise.resolve();
    expect(groups).toEqual([['a']]);
    answers[0]?.resolve();
    expect(await done).toBe('written');
  });

  it('puts what is asked while a write is on its way in the next write, all together', async () => {
    const { write, groups, answers } = heldWrites();
    const first = settled(write('a'));
    await new Promise((resolve) => setImmediate(resolve));
    const rest = ['b', 'c', 'd'].map((item) => settled(write(item)));
    await new Promise((resolve) => setImmediate(resolve));
    // Nothing more goes out until the first write is answered.
    expect(groups).toEqual([['a']]);
    answers[0]?.resolve();
    expect(await first).toBe('written');
    await new Promise((resolve) => setImmediate(resolve));
    expect(groups).toEqual([['a'], ['b', 'c', 'd']]);
    answers[1]?.resolve();
    expect(await Promise.all(rest)).toEqual(['written', 'written', 'written']);
  });

  it('fails the callers of a write that failed, and only them', async () => {
    const { write, groups, answers } = heldWrites();
    const first = settled(write('a'));
    await new Promise((resolve) => setImmediate(resolve));
    const second = settled(write('b'));
    answers[0]?.reject(new Error('connection lost'));
    expect(await first).toBe('failed: connection lost');
    await new Promise((resolve) => setImmediate(resolve));
    expect(groups).toEqual([['a'], ['b']]);
    answers[1]?.resolve();
    expect(await second).toBe('written');
  });
});

describe('groupedCalls', () => {
  it('answers each caller with its own item’s answer, grouped as writes are', async () => {
    const groups: number[][] = [];
    const square = groupedCalls<number, number>(async (items) => {
      groups.push([...items]);
      return items.map((n) => n * n);
    });
    const first = square(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(await Promise.all([first, square(3), square(4), square(3)])).toEqual([4, 9, 16, 9]);
    expect(groups).toEqual([[2], [3, 4, 3]]);
  });
});
