// Does a private key belong to a certificate? AutoSSL never checked; a mismatched pair takes a TLS site down.
import { loadCertificate } from './certificate';
import { loadPrivateKey } from './keys';

/** True when the key's public half is the certificate's public key (RSA or EC; a different algorithm is false). */
export function keyMatchesCertificate(keyPem: string, certPem: string): boolean {
  return loadCertificate(certPem).checkPrivateKey(loadPrivateKey(keyPem));
}
