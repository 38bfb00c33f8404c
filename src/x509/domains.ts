// Domain names as TLS clients see them (RFC 6125): case-insensitive, IDN compared as punycode, a wildcard
// standing for exactly one left-most label.
import { domainToASCII } from 'node:url';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/** Lower-case ASCII form (IDN → punycode), trailing dot removed; `null` when it is not a host name. */
export function normalizeDomain(name: string): string | null {
  if (typeof name !== 'string') return null;
  let n = name.trim().replace(/\.$/, '');
  const wildcard = n.startsWith('*.');
  if (wildcard) n = n.slice(2);
  if (n === '' || n.includes('*')) return null;
  const ascii = /^[\x00-\x7f]*$/.test(n) ? n.toLowerCase() : domainToASCII(n);
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  if (!labels.every((l) => LABEL.test(l))) return null;
  if (wildcard && labels.length < 2) return null;
  return wildcard ? `*.${ascii}` : ascii;
}

/**
 * Why `name` is no host name or wildcard a certificate can carry, in words (AutoSSL accepted some of these, such
 * as underscores: the reason is the point); `null` when it is one.
 */
export function domainProblem(name: string): string | null {
  if (normalizeDomain(name) !== null) return null;
  const n = name.trim().replace(/\.$/, '');
  const body = n.startsWith('*.') ? n.slice(2) : n;
  if (body === '') return 'it is empty';
  if (n.includes('_')) {
    return 'host names hold no underscore (RFC 1123), and public CAs may not certify one since 2019 (CA/Browser Forum ballot SC12)';
  }
  if (body.includes('*')) return "a wildcard is only a whole '*.' label in front of a name: TLS clients match no other (RFC 6125)";
  const ascii = /^[\x00-\x7f]*$/.test(body) ? body.toLowerCase() : domainToASCII(body);
  if (!ascii) return 'it is not a valid internationalised domain name';
  const labels = ascii.split('.');
  if (labels.some((l) => l === '')) return 'it has an empty label';
  const long = labels.find((l) => l.length > 63);
  if (long) return `its label '${long.slice(0, 20)}...' is longer than the 63 characters DNS allows (RFC 1035)`;
  if (ascii.length > 253) return 'it is longer than the 253 characters DNS allows (RFC 1035)';
  const odd = /[^a-z0-9.-]/.exec(ascii);
  if (odd) return `host names hold only letters, digits, '-' and '.', not '${odd[0]}' (RFC 1123)`;
  if (labels.some((l) => l.startsWith('-') || l.endsWith('-'))) return "a label may not start or end with '-' (RFC 1123)";
  return "a wildcard needs two labels or more after '*.': no CA certifies a whole top-level domain";
}

export function isValidDomain(name: string): boolean {
  return normalizeDomain(name) !== null;
}

/** Does certificate name `pattern` (possibly `*.x.y`) stand for host `name`? Both normalised. */
export function nameMatches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith('*.') || name.startsWith('*.')) return false;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

export interface Coverage {
  /** True when the certificate serves every wanted domain (and, with exact match, nothing else). */
  ok: boolean;
  /** Wanted domains the certificate does not serve. */
  missing: string[];
  /** Certificate names not wanted (reported; they make `ok` false only with exact match). */
  extra: string[];
}

/**
 * Compares the names a certificate carries with the names a blueprint wants. With `exactMatch` a wildcard no
 * longer stands for a named domain: the two sets must be equal.
 */
export function coverage(certificateNames: readonly string[], wanted: readonly string[], exactMatch: boolean): Coverage {
  const have = unique(certificateNames.map(normalizeDomain).filter((n): n is string => n !== null));
  const want = unique(wanted.map((w) => normalizeDomain(w) ?? w.toLowerCase()));
  const matches = (h: string, w: string) => (exactMatch ? h === w : nameMatches(h, w));
  const missing = want.filter((w) => !have.some((h) => matches(h, w)));
  const extra = have.filter((h) => !want.some((w) => matches(h, w)));
  return { ok: missing.length === 0 && (!exactMatch || extra.length === 0), missing, extra };
}

function unique(names: string[]): string[] {
  return [...new Set(names)];
}
