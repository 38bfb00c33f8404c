// The lifecycle's pure rules, beside `decide`: when to wake next, when a failure is worth telling again, how near
// expiry the certificate is. Workflow code calls them with the workflow's clock; tests call them with any.
import { UNCLASSIFIED } from '../errors';
import type { CertificateFacts } from '../inspect/facts';
import type { CycleReport, FailedStep } from './definitions';

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

/** The steps a cycle failed in: the one that failed it, and every failed deploy. */
export function failedSteps(cycle: Pick<CycleReport, 'failure' | 'failed'>): FailedStep[] {
  const deploys = cycle.failed.map((f) => ({ step: `deployToServer ${f.id}`, reasonCode: f.reasonCode ?? UNCLASSIFIED.reasonCode }));
  return cycle.failure ? [cycle.failure, ...deploys] : deploys;
}

/** What makes two failures the same: the steps and their reason codes, not wording that may change every time. */
export const failureKey = (steps: FailedStep[]): string => [...new Set(steps.map((s) => `${s.step}: ${s.reasonCode}`))].sort().join('; ');

/**
 * Whether a failure is told: the first time, when it changes, once per reminder interval while it lasts, and always
 * when it carries a notice (a new ACME account must never be held back). It changes when its key (failureKey)
 * does; without keys (a failure told by older code), when its reason's wording does.
 */
export function failureWorthTelling(
  previous: { at: string; reason: string; key?: string } | undefined,
  reason: string,
  now: number,
  reminderIntervalMs: number,
  hasNotices: boolean,
  key?: string,
): boolean {
  if (hasNotices || previous === undefined) return true;
  const same = key !== undefined && previous.key !== undefined ? previous.key === key : previous.reason === reason;
  return !same || now - Date.parse(previous.at) >= reminderIntervalMs;
}
