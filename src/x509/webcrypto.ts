// Bridges PEM keys to the WebCrypto keys @peculiar/x509 signs with. Internal to src/x509.
import { createPublicKey, webcrypto } from 'node:crypto';
import { KeyError } from './errors';
import { CURVE_NAMES, loadPrivateKey } from './keys';

export interface SigningKeys {
  keys: webcrypto.CryptoKeyPair;
  /** SHA-256 with the key's own scheme: RSA PKCS#1 v1.5 or ECDSA. */
  signingAlgorithm: { name: string; hash: string };
}

/**
 * Imports a PEM private key for signing. Wider than the key specs a blueprint may ask for: an existing CA key
 * of another RSA size or on P-521 still signs.
 */
export async function importSigningKeys(keyPem: string): Promise<SigningKeys> {
  const key = loadPrivateKey(keyPem);
  const curve = CURVE_NAMES[key.asymmetricKeyDetails?.namedCurve ?? ''];
  const algorithm =
    key.asymmetricKeyType === 'rsa'
      ? { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
      : key.asymmetricKeyType === 'ec' && curve
        ? { name: 'ECDSA', namedCurve: curve }
        : undefined;
  if (!algorithm) {
    throw new KeyError(`cannot sign with a ${key.asymmetricKeyType} key: use an RSA or EC (P-256, P-384, P-521) key`);
  }
  const { subtle } = webcrypto;
  const privateKey = await subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), algorithm, false, ['sign']);
  const spki = createPublicKey(key).export({ type: 'spki', format: 'der' });
  const publicKey = await subtle.importKey('spki', spki, algorithm, true, ['verify']);
  return { keys: { privateKey, publicKey }, signingAlgorithm: { name: algorithm.name, hash: 'SHA-256' } };
}
