/**
 * Start a worker thread running one of the project's worker modules, from either layout the code runs in: the
 * bundle (`npm run build` writes <outdir>/cli/main.mjs and each worker entry beside it, e.g.
 * <outdir>/parallel/worker.mjs; bundled modules sit one directory below <outdir>, as this module's callers do) or
 * the TypeScript sources through tsx's loader.
 */
import { type TransferListItem, Worker } from 'node:worker_threads';

/** `entry`: the module's path under src/ (or the bundle's outdir) without extension, e.g. 'parallel/worker'. */
export function startWorker(entry: string, workerData: unknown, transferList?: readonly TransferListItem[]): Worker {
  const options = { workerData, transferList: transferList as TransferListItem[] | undefined };
  if (!import.meta.url.endsWith('.ts')) return new Worker(new URL(`../${entry}.mjs`, import.meta.url), options);
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const source = new URL(`../${entry}.ts`, import.meta.url).href;
  // A worker does not inherit loader hooks registered at run time (bin/flowsieve.js registers tsx that way).
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(boot, { ...options, eval: true });
}
