import { Piscina } from 'piscina';

type PoolOptions = NonNullable<ConstructorParameters<typeof Piscina>[0]>;

/**
 * A Piscina pool whose threads run the default export of a TypeScript module, as the process runs
 * its own sources. `workerData` is the thread's, beside the module's address.
 */
export function typeScriptPool(
  module: URL,
  opts: Omit<PoolOptions, 'filename' | 'execArgv' | 'workerData'> & { workerData?: object },
): Piscina {
  const { workerData, ...rest } = opts;
  return new Piscina({
    ...rest,
    filename: new URL('./ts-thread.mjs', import.meta.url).href,
    workerData: { ...workerData, module: module.href },
  });
}
