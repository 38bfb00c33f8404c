// Signing: the local CA issuing from a CSR, and self-signed roots for bootstrapping internal CAs and tests.
import { createPublicKey, randomBytes } from 'node:crypto';
import { id_ce_nameConstraints } from '@peculiar/asn1-x509';
import { certificateLabel, loadCertificate } from './certificate';
import { csrDomains, csrRequestsCa, dnsSanExtension, loadCsr } from './csr';
import { normalizeDomain } from './domains';
import { CertificateError, CsrError, KeyError, X509Error } from './errors';
import { keyMatchesCertificate } from './match';
import {
  AuthorityKeyIdentifierExtension,
  BasicConstraintsExtension,
  ExtendedKeyUsage,
  ExtendedKeyUsageExtension,
  Extension,
  KeyUsageFlags,
  KeyUsagesExtension,
  Name,
  SubjectKeyIdentifierExtension,
  X509Certificate,
  X509CertificateGenerator,
} from './peculiar';
import { importSigningKeys } from './webcrypto';

export interface SignOptions {
  csrPem: string;
  caKeyPem: string;
  caCertPem: string;
  validityDays: number;
  now?: Date;
}

export interface SelfSignedCaOptions {
  keyPem: string;
  commonName: string;
  validityDays: number;
  now?: Date;
}

// Backdating covers clients whose clocks run a little behind the CA's.
const CLOCK_SKEW_MS = 5 * 60_000;
const DAY_MS = 86_400_000;

/**
 * Issues a certificate for a CSR: subject and DNS names from the CSR, server and client authentication, or,
 * when the CSR asks for a CA, a sub-CA of path length 0 carrying the CSR's name constraints (required).
 */
export async function signCertificate(opts: SignOptions): Promise<string> {
  const csr = loadCsr(opts.csrPem);
  if (!(await csr.verify())) throw new CsrError('the CSR signature does not verify');
  const caNode = loadCertificate(opts.caCertPem);
  const caLabel = certificateLabel(caNode);
  if (!caNode.ca) throw new CertificateError(`'${caLabel}' is not a CA certificate (basic constraints)`);
  if (!keyMatchesCertificate(opts.caKeyPem, opts.caCertPem)) {
    throw new KeyError(`the CA private key does not belong to the CA certificate '${caLabel}'`);
  }
  const ca = new X509Certificate(caNode.raw);
  const isCa = csrRequestsCa(csr);
  if (isCa && ca.getExtension(BasicConstraintsExtension)?.pathLength === 0) {
    throw new X509Error(`'${caLabel}' has path length 0: it cannot issue a CA certificate`);
  }
  // A CSR with only a common name still gets it as a SAN: modern clients ignore the common name.
  const names = csrDomains(csr);
  if (names.length === 0) throw new CsrError('the CSR names no domain (no DNS subject alternative name, no common name)');
  const invalid = names.find((n) => normalizeDomain(n) === null);
  if (invalid !== undefined) throw new CsrError(`the CSR asks for '${invalid}', which is not a valid domain name`);
  const spki = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  const caKeyId = ca.getExtension(SubjectKeyIdentifierExtension)?.keyId;
  const extensions: Extension[] = [
    // RFC 5280: the SAN is critical when the subject is empty.
    dnsSanExtension(names, csr.subjectName.toJSON().length === 0),
    new ExtendedKeyUsageExtension([ExtendedKeyUsage.serverAuth, ExtendedKeyUsage.clientAuth]),
    await SubjectKeyIdentifierExtension.create(csr.publicKey),
    caKeyId ? new AuthorityKeyIdentifierExtension(caKeyId) : await AuthorityKeyIdentifierExtension.create(ca.publicKey),
  ];
  if (isCa) {
    const nameConstraints = csr.getExtension(id_ce_nameConstraints);
    // An unconstrained sub-CA could issue for any domain on the internet on behalf of this CA.
    if (!nameConstraints) throw new CsrError('the CSR asks for a CA certificate without name constraints');
    extensions.push(
      new BasicConstraintsExtension(true, 0, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign, true),
      nameConstraints,
    );
  } else {
    const encipherment = spki.asymmetricKeyType === 'rsa' ? KeyUsageFlags.keyEncipherment : 0;
    extensions.push(
      new BasicConstraintsExtension(false, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.digitalSignature | encipherment, true),
    );
  }
  const { keys, signingAlgorithm } = await importSigningKeys(opts.caKeyPem);
  const cert = await X509CertificateGenerator.create({
    ...validity(opts),
    serialNumber: randomSerial(),
    subject: csr.subjectName,
    issuer: ca.subjectName,
    publicKey: csr.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm,
    extensions,
  });
  return cert.toString('pem') + '\n';
}

/** A self-signed root CA certificate for `keyPem`, without a path length limit. */
export async function createSelfSignedCa(opts: SelfSignedCaOptions): Promise<string> {
  const { keys, signingAlgorithm } = await importSigningKeys(opts.keyPem);
  const cert = await X509CertificateGenerator.createSelfSigned({
    ...validity(opts),
    serialNumber: randomSerial(),
    name: new Name([{ CN: [opts.commonName] }]),
    keys,
    signingAlgorithm,
    extensions: [
      new BasicConstraintsExtension(true, undefined, true),
      new KeyUsagesExtension(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign | KeyUsageFlags.digitalSignature, true),
      await SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return cert.toString('pem') + '\n';
}

function validity(opts: { validityDays: number; now?: Date }): { notBefore: Date; notAfter: Date } {
  if (!(opts.validityDays > 0)) {
    throw new X509Error(`certificate validity must be a positive number of days, not ${opts.validityDays}`);
  }
  const now = (opts.now ?? new Date()).getTime();
  return { notBefore: new Date(now - CLOCK_SKEW_MS), notAfter: new Date(now + opts.validityDays * DAY_MS) };
}

/** 128 random bits; the generator prepends a zero byte when needed to keep the DER integer positive. */
const randomSerial = (): string => randomBytes(16).toString('hex');
