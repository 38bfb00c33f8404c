// A CA that asks to be left alone for a while (ACME `rateLimited`, HTTP 429 with Retry-After). The activity turns
// it into a Temporal failure with `nextRetryDelay`, so the wait is a durable server-side timer, not a sleeping
// worker.
import { PluginIoError } from '../errors';

export class RateLimitedError extends PluginIoError {
  override readonly name = 'RateLimited';

  constructor(
    subject: string,
    detail: string,
    readonly retryAfterMs: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(subject, detail, undefined, options);
  }
}
