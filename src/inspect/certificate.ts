// What a certificate bundle means for a blueprint, and the checks a certificate must pass before it is stored or
// deployed (AutoSSL's pre-deploy checks, in its order).
import type { Blueprint } from '../blueprint/types';
import { ClassifiedError } from '../errors';
import type { ReportedCertificate } from '../plugins/types';
import { renewalTime } from '../workflows/decide';
import { coverage, keyMatchesCertificate, parseCertificate, splitPemCertificates, verifyChain } from '../x509';
import type { CertificateFacts, ReportedFacts } from './facts';

/** A certificate a person or a CA handed over that must not be stored or deployed; the message says why. */
export class CertificateRejected extends ClassifiedError {
  override readonly name = 'CertificateRejected';
}

/** The chain of trust configured for the blueprint: the certificate's own, else its CA's. */
export function configuredChain(blueprint: Blueprint): string[] {
  if (blueprint.certificate.chainOfTrust.length) return blueprint.certificate.chainOfTrust;
  const ca = blueprint.certificateAuthorities.find((c) => c.key === blueprint.certificate.certificateAuthority);
  return ca?.chainOfTrust ?? [];
}

export interface Bundle {
  leaf: string;
  /** Certificates after the leaf in the file, or the configured chain when the file holds only the leaf. */
  chain: string[];
}

export function splitBundle(blueprint: Blueprint, text: string): Bundle {
  const [leaf, ...rest] = splitPemCertificates(text);
  if (!leaf) throw new CertificateRejected('no PEM certificate found');
  return { leaf, chain: rest.length ? rest : configuredChain(blueprint) };
}

export function certificateFacts(blueprint: Blueprint, text: string, keyPem: string | null): CertificateFacts {
  const { leaf, chain } = splitBundle(blueprint, text);
  const info = parseCertificate(leaf);
  return {
    serial: info.serial,
    issuer: info.issuer,
    notBefore: info.notBefore,
    notAfter: info.notAfter,
    domains: info.domains,
    coverage: coverage(info.domains, blueprint.certificate.domains, blueprint.certificate.exactMatch),
    keyMatches: keyPem === null ? null : keyMatchesCertificate(keyPem, leaf),
    chain: chain.length ? verifyChain(leaf, chain) : null,
  };
}

/** What a server reports of its certificate; the names it serves must be among the blueprint's (as AutoSSL checks Incapsula sites). */
export function reportedFacts(blueprint: Blueprint, reported: ReportedCertificate): ReportedFacts {
  const { missing } = coverage(blueprint.certificate.domains, reported.domains, blueprint.certificate.exactMatch);
  return {
    reported: true,
    serial: null,
    issuer: null,
    notBefore: null,
    notAfter: reported.notAfter,
    domains: reported.domains,
    coverage: { ok: missing.length === 0, missing, extra: [] },
    keyMatches: null,
    chain: null,
  };
}

/**
 * Refuses a certificate that must not reach a server: key mismatch, expired or already due for renewal, not
 * covering the blueprint, full chain wanted but none known, chain of trust not verifying.
 */
export function assertDeployable(blueprint: Blueprint, text: string, keyPem: string, now: number): Bundle & { facts: CertificateFacts } {
  const bundle = splitBundle(blueprint, text);
  const facts = certificateFacts(blueprint, text, keyPem);
  const name = blueprint.name;
  if (!facts.keyMatches) throw new CertificateRejected(`certificate ${facts.serial} does not match the private key of '${name}'`);
  if (Date.parse(facts.notBefore) > now) throw new CertificateRejected(`certificate ${facts.serial} is not valid before ${facts.notBefore}`);
  if (Date.parse(facts.notAfter) <= now) throw new CertificateRejected(`certificate ${facts.serial} expired on ${facts.notAfter}`);
  if (renewalTime(facts.notBefore, facts.notAfter, blueprint.certificate.renewalDelayDays) <= now) {
    throw new CertificateRejected(
      `certificate ${facts.serial} expires on ${facts.notAfter}, within the renewal delay of ${blueprint.certificate.renewalDelayDays} day(s)`,
    );
  }
  if (!facts.coverage.ok) {
    const detail = facts.coverage.missing.length
      ? `does not cover ${facts.coverage.missing.join(', ')}`
      : `also covers ${facts.coverage.extra.join(', ')} while exact_match is set`;
    throw new CertificateRejected(`certificate ${facts.serial} ${detail}`);
  }
  const fullChain = blueprint.servers.filter((s) => s.parameters.deploy_full_chain === true);
  if (fullChain.length && !bundle.chain.length) {
    throw new CertificateRejected(
      `server ${fullChain[0].id} wants the full chain (deploy_full_chain) but no chain of trust is configured or delivered`,
    );
  }
  if (facts.chain && !facts.chain.ok) throw new CertificateRejected(`certificate ${facts.serial}: ${facts.chain.reason}`);
  return { ...bundle, facts };
}
