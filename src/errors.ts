// How every error autossl throws is classified, in one table: whether trying again can fix it, whether the user's
// input (blueprint, credentials, files, options) is at fault, and a short reason code that notifications, status
// and Temporal failure details carry. Pure (no Node built-ins, no Temporal): workflows read it too, for failures
// that arrive by type name only (older workers and histories).

export interface Classification {
  /** Another attempt, later, can succeed without anybody changing anything. */
  readonly retryable: boolean;
  /** The user's input is at fault: the CLI exits 2 (bad input) instead of 3. */
  readonly input: boolean;
  /** Stable and short, for people and filters: `io`, `config`, `rate-limited`... Never a secret or file content. */
  readonly reasonCode: string;
  /** How long the other side asked to be left alone (Retry-After), when it said. */
  readonly retryAfterMs?: number;
}

/**
 * Every error class by its `name` (which is also its Temporal failure type). A class listed as not retryable is
 * never retried, whatever the instance; an instance of a retryable class may still say it is not (see AcmeProblem).
 */
export const ERROR_CLASSES = {
  UsageError: { retryable: false, input: true, reasonCode: 'usage' },
  BlueprintError: { retryable: false, input: true, reasonCode: 'blueprint' },
  CredentialError: { retryable: false, input: true, reasonCode: 'credential' },
  PluginConfigError: { retryable: false, input: true, reasonCode: 'config' },
  // Retryable: the module may not be installed on this worker yet.
  PluginModuleError: { retryable: true, input: true, reasonCode: 'plugin-module' },
  X509Error: { retryable: false, input: true, reasonCode: 'x509' },
  CertificateError: { retryable: false, input: true, reasonCode: 'certificate' },
  KeyError: { retryable: false, input: true, reasonCode: 'private-key' },
  CsrError: { retryable: false, input: true, reasonCode: 'csr' },
  CertificateRejected: { retryable: false, input: true, reasonCode: 'certificate-rejected' },
  ManualCaError: { retryable: false, input: false, reasonCode: 'manual-ca' },
  PluginIoError: { retryable: true, input: false, reasonCode: 'io' },
  RateLimited: { retryable: true, input: false, reasonCode: 'rate-limited' },
  AcmeProblem: { retryable: true, input: false, reasonCode: 'ca-error' },
  AcmeUnreachable: { retryable: true, input: false, reasonCode: 'ca-unreachable' },
  WireError: { retryable: true, input: false, reasonCode: 'dns-message' },
  NotificationFailed: { retryable: true, input: false, reasonCode: 'notification' },
  // The user must start a Temporal server or point at one; it may also be starting still.
  TemporalUnavailable: { retryable: true, input: true, reasonCode: 'temporal-unavailable' },
  WorkflowUnanswered: { retryable: true, input: false, reasonCode: 'no-worker' },
  CycleTimeout: { retryable: true, input: false, reasonCode: 'cycle-timeout' },
  DataDirBusy: { retryable: true, input: false, reasonCode: 'data-dir-busy' },
} as const satisfies Record<string, Classification>;

export type ErrorName = keyof typeof ERROR_CLASSES;

/** Anything else: a bug, or a library's error nobody typed. Retried, as Temporal would. */
export const UNCLASSIFIED: Classification = { retryable: true, input: false, reasonCode: 'internal' };

/** An activity that timed out (no heartbeat, or past its start-to-close timeout). */
export const TIMED_OUT = 'timeout';

/** Base of every error class autossl throws: its `name` picks its row of ERROR_CLASSES. */
export abstract class ClassifiedError extends Error implements Classification {
  abstract override readonly name: ErrorName;

  get retryable(): boolean {
    return ERROR_CLASSES[this.name].retryable;
  }

  get input(): boolean {
    return ERROR_CLASSES[this.name].input;
  }

  get reasonCode(): string {
    return ERROR_CLASSES[this.name].reasonCode;
  }
}

const isErrorName = (name: string): name is ErrorName => Object.hasOwn(ERROR_CLASSES, name);

/**
 * The classification of an error known only by its name: a Temporal failure's `type` (one an older worker sent
 * without details), or an error of another copy of these classes (an in-house plugin's own autossl install).
 */
export function classifyName(name: string | undefined | null): Classification {
  return name && isErrorName(name) ? ERROR_CLASSES[name] : UNCLASSIFIED;
}

export function classify(err: unknown): Classification {
  if (err instanceof ClassifiedError) return err;
  return err instanceof Error ? classifyName(err.name) : UNCLASSIFIED;
}

/** What the activity layer puts in a failure's details: the reason code, nothing else. */
export interface FailureDetails {
  reasonCode: string;
}

/** The reason code of a Temporal application failure: from its details, else from its type. */
export function reasonCodeOf(type: string | undefined | null, details: readonly unknown[] | undefined | null): string {
  const first = details?.[0] as Partial<FailureDetails> | null | undefined;
  return typeof first?.reasonCode === 'string' ? first.reasonCode : classifyName(type).reasonCode;
}

/** Error names no retry can fix, as retry policies list them. */
export const NON_RETRYABLE_NAMES: readonly ErrorName[] = (Object.keys(ERROR_CLASSES) as ErrorName[]).filter((n) => !ERROR_CLASSES[n].retryable);
