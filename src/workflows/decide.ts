// The renewal and deployment decisions, as pure functions of an inspection and the clock. Shared by the
// lifecycle workflow and `autossl check`, so what check reports is exactly what the workflow will do.
import type { CertificateFacts, Inspection, RenewalWindow, ServerCertificateFacts } from '../inspect/facts';

const DAY = 86_400_000;

export interface ServerVerdict {
  id: string;
  label: string;
  upToDate: boolean;
  reasons: string[];
}

export interface Decision {
  renew: boolean;
  renewReasons: string[];
  /** When the stored certificate falls due (ISO), `null` when there is none. */
  renewAt: string | null;
  servers: ServerVerdict[];
  /** Ids of the servers to deploy to in this cycle. */
  deployTo: string[];
}

/** Below this share of its lifetime in use, a certificate is never due: renewing it would only loop. */
const MIN_USED_SHARE = 0.1;

/**
 * When a certificate should be renewed: `renewalDelayDays` before expiry (to the second), unless that leaves
 * almost nothing of the certificate's lifetime in use (short-lived certificates, or a delay as long as the
 * validity: CAs back-date notBefore, so "equal" shows up as a few minutes longer). Then a fixed fraction of the
 * lifetime is kept instead (a third, half for 10 days or less) so a fresh certificate is never due at once.
 */
export function renewalTime(notBefore: string, notAfter: string, renewalDelayDays: number): number {
  const start = Date.parse(notBefore);
  const end = Date.parse(notAfter);
  const lifetime = end - start;
  const delay = renewalDelayDays * DAY;
  if (lifetime - delay > lifetime * MIN_USED_SHARE) return end - delay;
  return end - lifetime * (lifetime <= 10 * DAY ? 1 / 2 : 1 / 3);
}

/**
 * A point inside the CA's renewal window (ACME Renewal Information), the same for every inspection of a given
 * certificate: it is derived from the serial, so re-reading the window each cycle does not move it, and it is
 * spread over the window, so certificates issued together are not all renewed in the same minute.
 */
export function windowRenewalTime(serial: string, window: RenewalWindow): number {
  const start = Date.parse(window.start);
  return start + Math.floor((Date.parse(window.end) - start) * unitFraction(serial));
}

/** FNV-1a of the text scaled to [0, 1): the workflow sandbox has no crypto, and this needs no secrecy. */
function unitFraction(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
  return hash / 2 ** 32;
}

/** The CA's window when it gave a usable one (it opens before expiry), else the blueprint's renewal delay. */
function renewalPoint(stored: CertificateFacts, renewalDelayDays: number): { at: number; window?: RenewalWindow } {
  const window = stored.renewalWindow;
  if (window && Date.parse(window.start) < Date.parse(stored.notAfter)) return { at: windowRenewalTime(stored.serial, window), window };
  return { at: renewalTime(stored.notBefore, stored.notAfter, renewalDelayDays) };
}

function problems(cert: ServerCertificateFacts): string[] {
  const reasons: string[] = [];
  if (!cert.coverage.ok && 'reported' in cert) reasons.push(`serves ${cert.coverage.missing.join(', ')}, which the blueprint's domains do not cover`);
  else if (!cert.coverage.ok) {
    if (cert.coverage.missing.length) reasons.push(`does not cover ${cert.coverage.missing.join(', ')}`);
    if (cert.coverage.extra.length && !cert.coverage.missing.length) reasons.push(`also covers ${cert.coverage.extra.join(', ')} (exact_match)`);
  }
  if (cert.keyMatches === false) reasons.push('private key does not match the certificate');
  if (cert.chain && !cert.chain.ok) reasons.push(`chain of trust: ${cert.chain.reason ?? 'does not verify'}`);
  return reasons;
}

export interface DecideOptions {
  renewalDelayDays: number;
  now: number;
  /** Renew whatever the stored certificate's state. */
  force?: boolean;
  /** Deploy to every server, up to date or not. */
  allServers?: boolean;
}

export function decide(inspection: Inspection, opts: DecideOptions): Decision {
  const { stored } = inspection;
  const renewReasons: string[] = [];
  let renewAt: number | null = null;
  if (opts.force) renewReasons.push('renewal forced');
  if (!stored) {
    renewReasons.push(inspection.storedError ? `stored certificate unusable: ${inspection.storedError}` : 'no stored certificate');
  } else {
    const point = renewalPoint(stored, opts.renewalDelayDays);
    renewAt = point.at;
    const end = Date.parse(stored.notAfter);
    if (end <= opts.now) renewReasons.push(`stored certificate expired on ${stored.notAfter}`);
    else if (renewAt <= opts.now && point.window) {
      renewReasons.push(`the CA asks for renewal between ${point.window.start} and ${point.window.end} (renewal information)`);
    } else if (renewAt <= opts.now) {
      renewReasons.push(`stored certificate expires on ${stored.notAfter}, within ${Math.ceil((end - opts.now) / DAY)} day(s)`);
    }
    renewReasons.push(...problems(stored).map((p) => `stored certificate ${p}`));
  }
  const renew = renewReasons.length > 0;

  const servers = inspection.servers.map((server): ServerVerdict => {
    const reasons: string[] = [];
    const cert = server.certificate;
    if (server.error) reasons.push(`could not be read: ${server.error}`);
    else if (!cert) reasons.push('no certificate deployed');
    else {
      reasons.push(...problems(cert));
      // A server that only reports its certificate (a CDN's API) is judged on expiry and names alone.
      if (cert.keyMatches === null && !('reported' in cert)) reasons.push('no private key deployed');
      if (Date.parse(cert.notAfter) <= opts.now) reasons.push(`certificate expired on ${cert.notAfter}`);
      // A server holding a newer certificate than storage is left alone (someone deployed it on purpose).
      else if (stored && Date.parse(cert.notAfter) < Date.parse(stored.notAfter) && cert.serial !== stored.serial) {
        reasons.push(`expires on ${cert.notAfter}, before the stored certificate (${stored.notAfter})`);
      }
    }
    return { id: server.id, label: server.label, upToDate: reasons.length === 0, reasons };
  });

  const deployTo = servers.filter((s) => renew || opts.allServers || !s.upToDate).map((s) => s.id);
  return { renew, renewReasons, renewAt: renewAt === null ? null : new Date(renewAt).toISOString(), servers, deployTo };
}
