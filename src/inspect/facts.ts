// What an inspection learns about a certificate: public facts only (no key material), small enough for
// workflow history and for `check --json`.

export interface CertificateFacts {
  serial: string;
  issuer: string;
  notBefore: string;
  notAfter: string;
  domains: string[];
  /** Blueprint domains the certificate lacks, and names it carries that the blueprint does not want. */
  coverage: { ok: boolean; missing: string[]; extra: string[] };
  /** Whether the private key next to it matches; `null` when no key was found. */
  keyMatches: boolean | null;
  /** Verification against the blueprint's chain of trust; `null` when none is configured. */
  chain: { ok: boolean; reason?: string } | null;
  /** When the CA wants it renewed (ACME Renewal Information); absent when the CA offers none or did not answer. */
  renewalWindow?: RenewalWindow;
}

/** ISO instants, start before end. */
export interface RenewalWindow {
  start: string;
  end: string;
}

/**
 * A server's certificate known only from what the server reports (a CDN's API): the names it serves and the
 * expiry. What only the certificate would tell is unknown (`null`); `coverage.missing` lists served names the
 * blueprint's domains lack.
 */
export interface ReportedFacts {
  reported: true;
  serial: null;
  issuer: null;
  notBefore: null;
  notAfter: string;
  domains: string[];
  coverage: { ok: boolean; missing: string[]; extra: string[] };
  keyMatches: null;
  chain: null;
}

export type ServerCertificateFacts = CertificateFacts | ReportedFacts;

export interface ServerFacts {
  id: string;
  /** How a person names it, e.g. `local:/etc/ssl/site`. */
  label: string;
  certificate: ServerCertificateFacts | null;
  /** Set when the server could not be read (unreachable, unreadable file, not a certificate). */
  error?: string;
}

export interface Inspection {
  at: string;
  stored: CertificateFacts | null;
  storedError?: string;
  servers: ServerFacts[];
}
