// Certificate signing requests: what a renewal sends to a CA, and what a CA reads back.
import { id_ce_basicConstraints, id_ce_subjectAltName } from '@peculiar/asn1-x509';
import type { Organization } from '../blueprint/types';
import { normalizeNames } from './certificate';
import { normalizeDomain } from './domains';
import { CsrError } from './errors';
import { spkiSha256 } from './keys';
import { permitDomainsExtension } from './name-constraints';
import {
  BasicConstraintsExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  Pkcs10CertificateRequest,
  Pkcs10CertificateRequestGenerator,
  SubjectAlternativeNameExtension,
  type JsonAttributeObject,
} from './peculiar';
import { importSigningKeys } from './webcrypto';

export interface CsrOptions {
  keyPem: string;
  commonName?: string;
  domains: string[];
  organization?: Organization;
  /** Ask for a CA certificate (path length 0) limited by name constraints to `domains`. */
  isCa?: boolean;
}

export interface CsrInfo {
  commonName?: string;
  /** DNS subject alternative names, normalised; the common name only when there is none. */
  domains: string[];
  isCa: boolean;
  /** Lower-case hex SHA-256 of the public key (SubjectPublicKeyInfo DER), as `publicKeySha256` of the key. */
  publicKeySha256: string;
}

// X.520 upper bound of a common name; a longer host name can only be a SAN.
const CN_MAX = 64;

// Subject attributes in the usual OpenSSL order. Country is a PrintableString and email an IA5String by
// definition; everything else is UTF-8 as RFC 5280 asks of new certificates.
const SUBJECT_FIELDS: readonly [keyof Organization | 'commonName', string, keyof JsonAttributeObject][] = [
  ['country_code', '2.5.4.6', 'printableString'],
  ['state', '2.5.4.8', 'utf8String'],
  ['city', '2.5.4.7', 'utf8String'],
  ['street_address', '2.5.4.9', 'utf8String'],
  ['postal_code', '2.5.4.17', 'utf8String'],
  ['company_name', '2.5.4.10', 'utf8String'],
  ['commonName', '2.5.4.3', 'utf8String'],
  ['email_address', '1.2.840.113549.1.9.1', 'ia5String'],
];

export async function createCsr(opts: CsrOptions): Promise<string> {
  const requested = opts.commonName === undefined ? opts.domains : [opts.commonName, ...opts.domains];
  const names = [...new Set(requested.map(checkedDomain))];
  if (names.length === 0) throw new CsrError('a CSR needs a common name or at least one domain');
  const commonName = opts.commonName === undefined ? undefined : names[0];
  const extensions: Extension[] = [dnsSanExtension(names)];
  if (opts.isCa) {
    extensions.push(
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      permitDomainsExtension(names),
    );
  }
  const { keys, signingAlgorithm } = await importSigningKeys(opts.keyPem);
  const csr = await Pkcs10CertificateRequestGenerator.create({
    name: subject(commonName !== undefined && commonName.length <= CN_MAX ? commonName : undefined, opts.organization),
    keys,
    signingAlgorithm,
    extensions,
  });
  return csr.toString('pem') + '\n';
}

function checkedDomain(name: string): string {
  const normalized = normalizeDomain(name);
  if (normalized === null) throw new CsrError(`'${name}' is not a valid domain name`);
  return normalized;
}

function subject(commonName: string | undefined, organization: Organization = {}): Name {
  const values: Record<string, string | undefined> = { ...organization, commonName };
  if (values.country_code !== undefined && !/^[A-Za-z]{2}$/.test(values.country_code)) {
    throw new CsrError(`country code '${values.country_code}' is not two letters (ISO 3166)`);
  }
  return new Name(
    SUBJECT_FIELDS.flatMap(([field, oid, encoding]) => {
      const value = values[field];
      if (value === undefined || value === '') return [];
      return [{ [oid]: [{ [encoding]: field === 'country_code' ? value.toUpperCase() : value }] }];
    }),
  );
}

/** Parses a PEM CSR; errors say what is wrong with the input. */
export function loadCsr(pem: string): Pkcs10CertificateRequest {
  if (pem.trim() === '') throw new CsrError('empty CSR');
  if (!/-----BEGIN (?:NEW )?CERTIFICATE REQUEST-----/.test(pem)) throw new CsrError('not a PEM certificate request');
  try {
    return new Pkcs10CertificateRequest(pem);
  } catch {
    throw new CsrError('the certificate request could not be parsed (malformed PEM or DER)');
  }
}

export function parseCsr(pem: string): CsrInfo {
  const csr = loadCsr(pem);
  return {
    commonName: csrCommonName(csr),
    domains: csrDomains(csr),
    isCa: csrRequestsCa(csr),
    publicKeySha256: spkiSha256(new Uint8Array(csr.publicKey.rawData)),
  };
}

export function csrRequestsCa(csr: Pkcs10CertificateRequest): boolean {
  const bc = csr.getExtension(id_ce_basicConstraints);
  return bc instanceof BasicConstraintsExtension && bc.ca;
}

const csrCommonName = (csr: Pkcs10CertificateRequest): string | undefined => csr.subjectName.getField('CN').at(-1);

/** DNS SANs of a CSR, else its common name; normalised where valid, lower-cased otherwise. */
export function csrDomains(csr: Pkcs10CertificateRequest): string[] {
  const san = csr.getExtension(id_ce_subjectAltName);
  const dns = san instanceof SubjectAlternativeNameExtension ? san.names.items.filter((n) => n.type === 'dns').map((n) => n.value) : [];
  return normalizeNames(dns, csrCommonName(csr));
}

export function dnsSanExtension(names: readonly string[], critical = false): SubjectAlternativeNameExtension {
  return new SubjectAlternativeNameExtension(
    names.map((value) => ({ type: 'dns' as const, value })),
    critical,
  );
}
