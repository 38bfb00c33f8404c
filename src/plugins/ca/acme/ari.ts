// ACME Renewal Information (RFC 9773): the CA says when it wants a certificate renewed, and a renewal order
// names the certificate it replaces. Both identify the certificate by its ARI CertID.
import { AuthorityKeyIdentifierExtension, X509Certificate } from '../../../x509/peculiar';
import { splitPemCertificates } from '../../../x509';
import type { RenewalWindow } from '../../../inspect/facts';
import { acmeGet } from './transport';

/**
 * `base64url(authority key identifier) "." base64url(serial number DER content)` (RFC 9773 section 4.1);
 * `undefined` for a certificate without an authority key identifier, which ARI cannot name.
 */
export function ariCertId(certificatePem: string): string | undefined {
  const [leaf] = splitPemCertificates(certificatePem);
  if (!leaf) return undefined;
  const cert = new X509Certificate(leaf);
  const keyId = cert.getExtension(AuthorityKeyIdentifierExtension)?.keyId;
  if (!keyId) return undefined;
  const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
  return `${b64(keyId)}.${b64(serialContentOctets(cert.serialNumber))}`;
}

/** The serial as DER encodes a positive INTEGER: minimal, with a 00 sign byte when the top bit is set. */
function serialContentOctets(hex: string): string {
  const minimal = hex.replace(/^(?:00)+(?=..)/, '');
  const even = minimal.length % 2 ? `0${minimal}` : minimal;
  return parseInt(even.slice(0, 2), 16) >= 0x80 ? `00${even}` : even;
}

/** The suggested window, checked: two instants, start before end. Anything else is ignored, not trusted. */
export function parseRenewalInfo(body: unknown): RenewalWindow | undefined {
  const window = (body as { suggestedWindow?: { start?: unknown; end?: unknown } } | null)?.suggestedWindow;
  if (typeof window?.start !== 'string' || typeof window.end !== 'string') return undefined;
  const start = Date.parse(window.start);
  const end = Date.parse(window.end);
  if (Number.isNaN(start) || Number.isNaN(end) || end <= start) return undefined;
  return { start: new Date(start).toISOString(), end: new Date(end).toISOString() };
}

/** Fetches the renewal window of a certificate from the directory's `renewalInfo` resource. */
export async function fetchRenewalWindow(renewalInfoUrl: string, certificatePem: string): Promise<RenewalWindow | undefined> {
  const certId = ariCertId(certificatePem);
  if (!certId) return undefined;
  const { data } = await acmeGet<unknown>(`${renewalInfoUrl.replace(/\/+$/, '')}/${certId}`);
  return parseRenewalInfo(data);
}
