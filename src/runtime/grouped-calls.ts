import DataLoader from 'dataloader';

/** Most items in one call: a script's arguments stay a few KB. */
const MAX_GROUP = 200;

/**
 * Many callers' small calls of one kind made as one: each caller waits for the call that carries its
 * item and gets its own answer (`call` answers each item in its place), and a call's failure fails
 * the callers it carried. One group is on its way at a time; what callers ask meanwhile goes in the
 * next. So one caller alone waits for nothing more than its own round trip, and a fan-out's many
 * calls of the same kind cost one command a round trip rather than one each (a command costs the
 * client several µs whatever its size).
 */
export function groupedCalls<T, R>(
  call: (items: readonly T[]) => Promise<readonly R[]>,
): (item: T) => Promise<R> {
  let previous: Promise<unknown> = Promise.resolve();
  const loader = new DataLoader<T, R>(
    async (items) => {
      const answered = call(items);
      previous = answered.catch(() => undefined);
      return answered;
    },
    {
      cache: false,
      maxBatchSize: MAX_GROUP,
      // A group goes out when the one before it was answered; until then it takes every new item.
      batchScheduleFn: (send) => {
        void previous.then(send);
      },
    },
  );
  return (item) => loader.load(item);
}

/** `groupedCalls` for writes, which answer nothing but their success. */
export function groupedWrites<T>(write: (items: readonly T[]) => Promise<void>): (item: T) => Promise<void> {
  return groupedCalls(async (items) => {
    await write(items);
    return items.map(() => undefined);
  });
}
