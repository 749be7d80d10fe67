import DataLoader from 'dataloader';

/** Most items in one write: a script's arguments stay a few KB. */
const MAX_GROUP = 200;

/**
 * Many callers' small writes made as one: each caller waits for the write that carries its item, and
 * a write's failure fails the callers it carried. One group is written at a time; what callers ask
 * while it is on its way goes in the next. So one caller alone waits for nothing more than its own
 * round trip, and a fan-out's many writes of the same kind cost one command a round trip rather
 * than one each (a command costs the client several µs whatever its size).
 */
export function groupedWrites<T>(write: (items: readonly T[]) => Promise<void>): (item: T) => Promise<void> {
  let previous: Promise<unknown> = Promise.resolve();
  const loader = new DataLoader<T, void>(
    async (items) => {
      const written = write(items);
      previous = written.catch(() => undefined);
      await written;
      return items.map(() => undefined);
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
