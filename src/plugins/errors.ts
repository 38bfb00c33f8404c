// Typed plugin failures, classified in src/errors.ts. The activity layer turns them into Temporal failures: `name`
// becomes the failure type (set literally so bundling or minifying cannot change it) and the classification
// decides whether Temporal retries. Messages name the plugin and the path involved, never file content: a key
// may be in the content.
import { getSystemErrorMap } from 'node:util';
import { ClassifiedError, type ErrorName } from '../errors';

/** The message of anything thrown, for reports (never its stack). */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export interface PluginErrorOptions {
  cause?: unknown;
  /** A more precise reason code than the class's (`ca-refused` rather than `config`). */
  reasonCode?: string;
}

export abstract class PluginError extends ClassifiedError {
  readonly #reasonCode: string | undefined;

  /** `subject` names the plugin the way a person knows it: `local:/etc/ssl/site`, `storage local:/var/lib/autossl`. */
  constructor(
    readonly subject: string,
    readonly detail: string,
    options?: PluginErrorOptions,
  ) {
    super(`${subject}: ${detail}`, options);
    this.#reasonCode = options?.reasonCode;
  }

  override get reasonCode(): string {
    return this.#reasonCode ?? super.reasonCode;
  }
}

/** Something only a change to the blueprint or the machine's layout fixes (wrong path type, unsafe name). */
export class PluginConfigError extends PluginError {
  override readonly name = 'PluginConfigError';
}

/**
 * An I/O failure. Retryable: full disks, flaky mounts and dropped connections clear up. A permission problem is
 * not fixed by a quick retry but by an admin; it is retryable anyway, so the certificate gets deployed once
 * they have acted, with Temporal's capped backoff keeping the attempts cheap meanwhile.
 */
export class PluginIoError extends PluginError {
  override readonly name: ErrorName = 'PluginIoError';

  /** `code` is the errno (or SFTP) code, kept for the activity layer's logs and tests. */
  constructor(
    subject: string,
    detail: string,
    readonly code: string | undefined,
    options?: PluginErrorOptions,
  ) {
    super(subject, detail, options);
  }
}

/** Issuing from a CA without automation: a person has to act, retrying cannot help. */
export class ManualCaError extends PluginError {
  override readonly name = 'ManualCaError';
}

/** Errno codes that mean the configured path itself is wrong: retrying cannot help. */
const LAYOUT_PROBLEMS: Record<string, string> = {
  EISDIR: 'a folder stands where a file is expected',
  ENOTDIR: 'a file stands where a folder is expected',
  EEXIST: 'a file stands where a folder is expected',
  ELOOP: 'too many symbolic links',
  ENAMETOOLONG: 'the path is too long',
};

/** libuv's wording of each errno code ('no space left on device'), which is what an admin searches for. */
let systemMessages: Map<string, string> | undefined;

export function describeErrno(code: string): string | undefined {
  systemMessages ??= new Map([...getSystemErrorMap().values()]);
  return systemMessages.get(code);
}

export function errnoCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Classifies a node:fs error; `action` reads like "cannot write /etc/ssl/site.key". */
export function fsError(subject: string, action: string, err: unknown): PluginError {
  if (err instanceof PluginError) return err;
  const code = errnoCode(err);
  const problem = code && Object.hasOwn(LAYOUT_PROBLEMS, code) ? LAYOUT_PROBLEMS[code] : undefined;
  if (problem) return new PluginConfigError(subject, `${action} (${code}): ${problem}`, { cause: err });
  const why = code && describeErrno(code);
  const detail = !code ? action : why ? `${action}: ${why} (${code})` : `${action} (${code})`;
  return new PluginIoError(subject, detail, code, { cause: err });
}
