// Waiting in tests for something that happens in another process: poll with a generous deadline, never sleep a
// guessed time.

/** Calls `probe` until it stops throwing; after `timeoutMs` its last (assertion) error is the test's. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T>, pauseMs = 300): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await probe();
    } catch (err) {
      if (Date.now() > deadline) {
        if (err instanceof Error) err.message = `${what}, not within ${timeoutMs / 1000} s: ${err.message}`;
        throw err;
      }
    }
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
  }
}

/** Polls until `ready` holds. */
export async function until(what: string, ready: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  await eventually(
    what,
    timeoutMs,
    async () => {
      if (!(await ready())) throw new Error('not yet');
    },
    100,
  );
}
