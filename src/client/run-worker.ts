// Worker plumbing shared by `autossl worker` and `autossl server`.
import type { Worker } from '@temporalio/worker';

/** Runs the worker until SIGINT/SIGTERM, then shuts it down cleanly (in-flight activities finish or are cancelled). */
export async function runUntilSignal(worker: Worker): Promise<void> {
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await worker.run();
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}
