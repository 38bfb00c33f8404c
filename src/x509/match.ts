// Does a private key belong to a certificate? AutoSSL never checked; a mismatched pair takes a TLS site down.
import { createHash, createPublicKey } from 'node:crypto';
import { loadCertificate } from './certificate';
import { embeddedPublicKey } from './der';
import { loadPrivateKey } from './keys';
import { BoundedCache } from './memo';

// Loading a private key is the slowest step of `check` (OpenSSL 3 decoders); a pair is judged once. The cache
// holds a digest of the key, never the key.
const verdicts = new BoundedCache<string, boolean>(4096);

/** True when the key's public half is the certificate's public key (RSA or EC; a different algorithm is false). */
export function keyMatchesCertificate(keyPem: string, certPem: string): boolean {
  const cert = loadCertificate(certPem);
  const key = `${createHash('sha256').update(keyPem).digest('base64')} ${cert.fingerprint256}`;
  return verdicts.get(key, () => {
    // Same comparison as OpenSSL's, which also takes the public half a key file carries rather than recomputing it.
    const embedded = embeddedPublicKey(keyPem);
    return embedded ? cert.publicKey.equals(createPublicKey({ key: embedded, format: 'jwk' })) : cert.checkPrivateKey(loadPrivateKey(keyPem));
  });
}
