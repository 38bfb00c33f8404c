// Chain verification against the chain of trust a blueprint configures. The configured certificates are the
// trust anchors: the path may end at a trusted intermediate, as the servers deploy intermediates without a root.
import type { X509Certificate } from 'node:crypto';
import { certificateDomains, certificateLabel, loadCertificate, splitPemCertificates } from './certificate';
import { X509Error } from './errors';
import { constraintViolation, readDnsNameConstraints } from './name-constraints';
import { BasicConstraintsExtension, KeyUsageFlags, KeyUsagesExtension, X509Certificate as PeculiarCertificate } from './peculiar';

export type ChainVerdict = { ok: true } | { ok: false; reason: string };

// Per parsed certificate (shared for equal PEMs by loadCertificate): the second parser's view, and which keys
// verified its signature. A blueprint's CA and each leaf are then parsed and verified once per process.
const peculiarViews = new WeakMap<X509Certificate, PeculiarCertificate>();
const signatures = new WeakMap<X509Certificate, Map<string, boolean>>();

function signedBy(cert: X509Certificate, issuer: X509Certificate): boolean {
  let known = signatures.get(cert);
  if (!known) signatures.set(cert, (known = new Map()));
  let ok = known.get(issuer.fingerprint256);
  if (ok === undefined) known.set(issuer.fingerprint256, (ok = cert.verify(issuer.publicKey)));
  return ok;
}

const OK: ChainVerdict = { ok: true };
const fail = (reason: string): ChainVerdict => ({ ok: false, reason });

/**
 * Verifies `leafPem` up through `chainOfTrust` (PEM texts, each may hold several certificates): signatures,
 * issuers being CAs allowed to sign certificates, path length, validity of every certificate at `at`, and the
 * DNS name constraints of every CA on the path applied to the leaf's names. When several paths exist, any valid
 * one will do; otherwise the reason comes from the first path tried.
 */
export function verifyChain(leafPem: string, chainOfTrust: string[], opts: { at?: Date } = {}): ChainVerdict {
  const at = opts.at ?? new Date();
  const leaf = loadCertificate(leafPem);
  const anchors: X509Certificate[] = [];
  for (const [i, text] of chainOfTrust.entries()) {
    try {
      const certs = splitPemCertificates(text);
      if (certs.length === 0) loadCertificate(text); // throws what the entry is instead: empty, a key, ...
      anchors.push(...certs.map(loadCertificate));
    } catch (err) {
      if (err instanceof X509Error) return fail(`chain of trust entry ${i + 1}: ${err.message}`);
      throw err;
    }
  }
  if (anchors.length === 0) return fail('no chain of trust configured');
  return new PathBuilder(anchors, at).extend([leaf]);
}

class PathBuilder {
  constructor(
    private readonly anchors: readonly X509Certificate[],
    private readonly at: Date,
  ) {}

  /** Depth-first: tries each trusted issuer whose key verifies the signature of the path's last certificate. */
  extend(path: X509Certificate[]): ChainVerdict {
    const cert = path[path.length - 1];
    const isLeaf = path.length === 1;
    if (!isLeaf && cert.issuer === cert.subject && signedBy(cert, cert)) return this.check(path);
    const candidates = this.anchors.filter((a) => a.subject === cert.issuer && !path.some((p) => p.fingerprint256 === a.fingerprint256));
    const issuers = candidates.filter((a) => signedBy(cert, a));
    if (issuers.length === 0) {
      if (!isLeaf) return this.check(path);
      const label = certificateLabel(cert);
      return candidates.length
        ? fail(`the signature of '${label}' does not verify with the key of '${certificateLabel(candidates[0])}'`)
        : fail(`issuer of '${label}' (${cert.issuer.split('\n').join(', ')}) not found in the chain of trust`);
    }
    let first: ChainVerdict | undefined;
    for (const issuer of issuers) {
      const verdict = this.extend([...path, issuer]);
      if (verdict.ok) return verdict;
      first ??= verdict;
    }
    return first!;
  }

  /** Checks a complete path, leaf first. */
  private check(path: X509Certificate[]): ChainVerdict {
    for (const cert of path) {
      const notBefore = new Date(cert.validFrom);
      const notAfter = new Date(cert.validTo);
      if (this.at < notBefore) return fail(`'${certificateLabel(cert)}' is not valid before ${notBefore.toISOString()}`);
      if (this.at > notAfter) return fail(`'${certificateLabel(cert)}' expired on ${notAfter.toISOString()}`);
    }
    const leafNames = certificateDomains(path[0]);
    for (let i = 1; i < path.length; i++) {
      const ca = path[i];
      // Naming a certificate costs a full subject decode: only on failure.
      const label = () => certificateLabel(ca);
      if (!ca.ca) {
        return fail(`'${label()}' is not a CA certificate (basic constraints) but issued '${certificateLabel(path[i - 1])}'`);
      }
      const parsed = this.peculiar(ca);
      const keyUsage = parsed.getExtension(KeyUsagesExtension);
      if (keyUsage && !(keyUsage.usages & KeyUsageFlags.keyCertSign)) {
        return fail(`'${label()}' may not sign certificates (its key usage lacks keyCertSign)`);
      }
      const pathLength = parsed.getExtension(BasicConstraintsExtension)?.pathLength;
      if (pathLength !== undefined && i - 1 > pathLength) {
        return fail(`'${label()}' allows ${pathLength} intermediate CA(s) below it, the path has ${i - 1}`);
      }
      const constraints = readDnsNameConstraints(parsed.extensions);
      const violation = constraints && leafNames.map((n) => constraintViolation(n, constraints)).find((v) => v !== null);
      if (violation) return fail(`name constraints of '${label()}': ${violation}`);
    }
    return OK;
  }

  // Extensions node:crypto does not expose (path length, key usage, name constraints) need a second parser.
  private peculiar(cert: X509Certificate): PeculiarCertificate {
    let parsed = peculiarViews.get(cert);
    if (!parsed) peculiarViews.set(cert, (parsed = new PeculiarCertificate(cert.raw)));
    return parsed;
  }
}
