// Reading certificates. node:crypto's X509Certificate does the parsing: it is several times faster than a
// JavaScript ASN.1 parser, which matters when `check` reads thousands of certificates.
import { X509Certificate } from 'node:crypto';
// Node 20: the first toLegacyObject() in a process that has not loaded tls yet leaves tls.createSecureContext
// undefined for good (a circular load of its internals), and every later HTTPS request fails. Loaded first, tls is whole.
import 'node:tls';
import { normalizeDomain } from './domains';
import { CertificateError } from './errors';
import { BoundedCache } from './memo';

export interface CertificateInfo {
  /** Upper-case hex, without the DER sign byte. */
  serial: string;
  /** Distinguished names on one line, attributes in certificate order (`C=US, O=Example, CN=example.com`). */
  subject: string;
  issuer: string;
  commonName?: string;
  /** DNS subject alternative names, normalised; the common name only when there is no DNS name. */
  domains: string[];
  /** ISO 8601. */
  notBefore: string;
  notAfter: string;
  isCa: boolean;
  selfSigned: boolean;
  /** SHA-256 of the DER, colon-separated upper-case hex as `openssl x509 -fingerprint -sha256` prints it. */
  fingerprint256: string;
}

const PEM_BLOCK = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;
const DAY_MS = 86_400_000;
// X509Certificate objects are immutable, so one parse serves every caller holding the same PEM.
const parsed = new BoundedCache<string, X509Certificate>(4096);
const infos = new BoundedCache<string, CertificateInfo>(4096);

/** Every CERTIFICATE block of a text (bundle, full chain), each re-wrapped as canonical PEM. */
/** PEM blocks as one file's text: each on its own lines, in order (a leaf then its chain). */
export const joinPem = (pems: readonly string[]): string => pems.map((pem) => (pem.endsWith('\n') ? pem : `${pem}\n`)).join('');

export function splitPemCertificates(text: string): string[] {
  return [...text.matchAll(PEM_BLOCK)].map((m) => {
    const base64 = blockBase64(m[1]);
    return `-----BEGIN CERTIFICATE-----\n${base64.replace(/.{64}/g, '$&\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  });
}

function blockBase64(body: string): string {
  const base64 = body.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(base64) || base64.length % 4 !== 0) {
    throw new CertificateError('a CERTIFICATE block is not valid base64');
  }
  return base64;
}

/** The first certificate of a PEM text (the leaf of a bundle), parsed by node:crypto. */
export function loadCertificate(text: string): X509Certificate {
  if (text.trim() === '') throw new CertificateError('empty file');
  const first = new RegExp(PEM_BLOCK.source).exec(text);
  if (!first) throw new CertificateError(notCertificate(text));
  const base64 = blockBase64(first[1]);
  // From DER: re-wrapping as PEM for OpenSSL to unwrap again cost a third of the parse.
  return parsed.get(base64, () => {
    try {
      return new X509Certificate(Buffer.from(base64, 'base64'));
    } catch {
      throw new CertificateError('the certificate could not be parsed (malformed DER)');
    }
  });
}

// Swapped files are the common mistake; saying what the file is instead helps more than "not PEM".
function notCertificate(text: string): string {
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) return 'not a PEM certificate: this is a private key';
  if (/-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----/.test(text)) {
    return 'not a PEM certificate: this is a certificate request (CSR)';
  }
  return 'not a PEM certificate';
}

export function parseCertificate(pem: string): CertificateInfo {
  const cert = loadCertificate(pem);
  // Keyed by the parsed object, which the cache above shares for equal PEMs; a copy, as callers may change it.
  const info = infos.get(cert.fingerprint256, () => describeCertificate(cert));
  return { ...info, domains: [...info.domains] };
}

function describeCertificate(cert: X509Certificate): CertificateInfo {
  const commonName = commonNameOf(cert);
  return {
    serial: cert.serialNumber.toUpperCase(),
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    commonName,
    domains: certificateDomains(cert, commonName),
    notBefore: isoDate(cert.validFrom),
    notAfter: isoDate(cert.validTo),
    isCa: cert.ca,
    selfSigned: isSelfSigned(cert),
    fingerprint256: cert.fingerprint256,
  };
}

/** Whole days from `now` until `notAfterIso`, rounded down: 0 on the last day, negative once expired. */
export function daysLeft(notAfterIso: string, now: Date): number {
  const end = Date.parse(notAfterIso);
  if (Number.isNaN(end)) throw new RangeError(`not a date: '${notAfterIso}'`);
  return Math.floor((end - now.getTime()) / DAY_MS);
}

/** The (last, most specific) subject common name. */
export function commonNameOf(cert: X509Certificate): string | undefined {
  const cn = cert.toLegacyObject().subject?.CN as string | string[] | undefined;
  return Array.isArray(cn) ? cn[cn.length - 1] : cn;
}

/** How reasons name a certificate: its common name, else its subject. */
export function certificateLabel(cert: X509Certificate): string {
  return commonNameOf(cert) ?? (oneLine(cert.subject) || `serial ${cert.serialNumber}`);
}

export function isSelfSigned(cert: X509Certificate): boolean {
  return cert.issuer === cert.subject && cert.verify(cert.publicKey);
}

/** The names TLS clients match: DNS SANs, else the common name; normalised, unique, odd names kept lower-cased. */
export function certificateDomains(cert: X509Certificate, commonName?: string): string[] {
  const dns = dnsNames(cert.subjectAltName);
  // The common name counts only without DNS names, and decoding the subject for it is slow.
  return normalizeNames(dns, dns.length ? undefined : (commonName ?? commonNameOf(cert)));
}

export function normalizeNames(dns: string[], commonName: string | undefined): string[] {
  const names = dns.length ? dns : commonName === undefined ? [] : [commonName];
  return [...new Set(names.map((n) => normalizeDomain(n) ?? n.toLowerCase()))];
}

// node prints `DNS:a.com, IP Address:1.2.3.4, DNS:"odd\u002cname"`: values with special characters are JSON strings.
const SAN_ENTRY = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;

function dnsNames(subjectAltName: string | undefined): string[] {
  if (!subjectAltName) return [];
  return [...subjectAltName.matchAll(SAN_ENTRY)]
    .filter((m) => m[1] === 'DNS')
    .map((m) => (m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2]));
}

// node:crypto gives `undefined`, despite its types, for an empty name: CAs now issue leaves without a subject.
const oneLine = (name: string | undefined): string => (name ?? '').split('\n').join(', ');

// node prints `Nov 27 23:02:39 2026 GMT`, which Date.parse reads.
const isoDate = (openssl: string): string => new Date(Date.parse(openssl)).toISOString();
