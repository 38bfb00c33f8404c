// The lifecycle's pure rules, beside `decide`: when to wake next, when a failure is worth telling again, how near
// expiry the certificate is. Workflow code calls them with the workflow's clock; tests call them with any.
import type { CertificateFacts } from '../inspect/facts';

const HOUR = 60 * 60 * 1000;
const DAY = 24 * HOUR;

/** A certificate this close to expiry (or past it) and not renewed makes notifications louder (`expiring`). */
const EXPIRY_WARNING_MS = 7 * DAY;

/** Cap of the back-off between failing cycles. */
const MAX_FAILURE_BACKOFF_MS = 6 * HOUR;
const FIRST_FAILURE_BACKOFF_MS = 60 * 1000;

/** Wait before retrying after `failures` failures in a row: a minute, doubling, at most 6 h and the check interval. */
export function failureBackoff(failures: number, checkIntervalMs: number): number {
  return Math.min(FIRST_FAILURE_BACKOFF_MS * 2 ** Math.max(0, failures - 1), MAX_FAILURE_BACKOFF_MS, checkIntervalMs);
}

/** Says how near expiry the stored certificate is, when it is inside the warning window or past it. */
export function expiryWarning(stored: CertificateFacts | null, now: number): string | null {
  if (!stored) return null;
  const end = Date.parse(stored.notAfter);
  if (end <= now) return `the current certificate ${stored.serial} expired on ${stored.notAfter}`;
  if (end - now > EXPIRY_WARNING_MS) return null;
  return `the current certificate ${stored.serial} expires on ${stored.notAfter}, in ${Math.ceil((end - now) / DAY)} day(s)`;
}

/** The next moment the expiry warning gets worse: entering the warning window, then expiry itself. */
export function nextWarningAt(stored: CertificateFacts | null, now: number): number | null {
  if (!stored) return null;
  const end = Date.parse(stored.notAfter);
  if (now < end - EXPIRY_WARNING_MS) return end - EXPIRY_WARNING_MS;
  return now < end ? end : null;
}

export interface WakeInputs {
  now: number;
  checkIntervalMs: number;
  renewAt?: string | null;
  /** Servers not up to date, with their consecutive failures. */
  failingServers: { label: string; failures: number }[];
  /** Consecutive failed renewals, when this cycle's renewal failed. */
  renewalFailures?: number;
}

/** The earliest reason to wake; on a tie the more specific one (a retry, a renewal) names it, not the periodic check. */
export function nextWake(w: WakeInputs): { at: number; why: string } {
  const candidates: { at: number; why: string }[] = [{ at: w.now + w.checkIntervalMs, why: 'periodic drift check' }];
  if (w.renewAt) candidates.push({ at: Date.parse(w.renewAt), why: 'renewal due' });
  for (const s of w.failingServers) {
    candidates.push({ at: w.now + failureBackoff(Math.max(1, s.failures), w.checkIntervalMs), why: `retry ${s.label}` });
  }
  if (w.renewalFailures !== undefined) {
    candidates.push({ at: w.now + failureBackoff(w.renewalFailures, w.checkIntervalMs), why: 'retry after failure' });
  }
  const next = candidates.reduce((a, b) => (b.at <= a.at ? b : a));
  return { at: Math.max(next.at, w.now), why: next.why };
}

/**
 * Whether a failure is told: the first time, when its reason changes, once per reminder interval while it lasts,
 * and always when it carries a notice (a new ACME account must never be held back).
 */
export function failureWorthTelling(
  previous: { at: string; reason: string } | undefined,
  reason: string,
  now: number,
  reminderIntervalMs: number,
  hasNotices: boolean,
): boolean {
  return hasNotices || previous?.reason !== reason || now - Date.parse(previous.at) >= reminderIntervalMs;
}
