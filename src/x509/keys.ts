// Private keys: generation, identification, loading. PEM in, PEM out; errors never echo key content.
import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import type { KeySpec } from '../blueprint/types';
import { KeyError } from './errors';

/**
 * RSA moduli made and accepted: at least 2048 bits, which CAs require, a multiple of 8 as the CA/Browser Forum's
 * Baseline Requirements (6.1.5) ask, and at most 16384, the largest OpenSSL verifies.
 */
export const RSA_BITS = { min: 2048, max: 16384, multipleOf: 8 } as const;
export const isRsaBits = (bits: unknown): boolean =>
  Number.isInteger(bits) && (bits as number) >= RSA_BITS.min && (bits as number) <= RSA_BITS.max && (bits as number) % RSA_BITS.multipleOf === 0;

const SUPPORTED = `RSA of ${RSA_BITS.min} to ${RSA_BITS.max} bits (a multiple of ${RSA_BITS.multipleOf}), or EC P-256 or P-384`;

/** OpenSSL curve names (as node reports them) → NIST names used in blueprints and WebCrypto. */
export const CURVE_NAMES: Readonly<Record<string, string>> = {
  prime256v1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
};

// Key specs can arrive from untyped YAML or a stored key, so the union type alone proves nothing at run time.
function supported(spec: KeySpec): boolean {
  return spec.type === 'rsa' ? isRsaBits(spec.bits) : spec.curve === 'P-256' || spec.curve === 'P-384';
}

const label = (spec: KeySpec): string => (spec.type === 'rsa' ? `RSA ${spec.bits} bits` : `EC ${spec.curve}`);

/** A new private key as PKCS#8 PEM. */
export function generatePrivateKey(spec: KeySpec): Promise<string> {
  if (!supported(spec)) return Promise.reject(new KeyError(`unsupported key ${label(spec)}: use ${SUPPORTED}`));
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, _pub: KeyObject, key: KeyObject) =>
      err ? reject(err) : resolve(key.export({ type: 'pkcs8', format: 'pem' }) as string);
    if (spec.type === 'rsa') generateKeyPair('rsa', { modulusLength: spec.bits, publicExponent: 0x10001 }, done);
    else generateKeyPair('ec', { namedCurve: spec.curve }, done);
  });
}

/** Parses a PEM private key (PKCS#8, PKCS#1 or SEC1). */
export function loadPrivateKey(keyPem: string): KeyObject {
  if (keyPem.trim() === '') throw new KeyError('empty private key');
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4,ENCRYPTED/.test(keyPem)) {
    throw new KeyError('the private key is encrypted: a passphrase-protected key is not supported');
  }
  if (!/-----BEGIN (?:RSA |EC )?PRIVATE KEY-----/.test(keyPem)) throw new KeyError('not a PEM private key');
  try {
    return createPrivateKey(keyPem);
  } catch {
    throw new KeyError('the private key could not be parsed (malformed PEM or DER)');
  }
}

/** The blueprint key spec of a loaded key; throws for kinds a blueprint cannot ask for. */
export function keySpecOf(key: KeyObject): KeySpec {
  const details = key.asymmetricKeyDetails ?? {};
  const spec =
    key.asymmetricKeyType === 'rsa'
      ? ({ type: 'rsa', bits: details.modulusLength } as KeySpec)
      : key.asymmetricKeyType === 'ec'
        ? ({ type: 'ec', curve: CURVE_NAMES[details.namedCurve ?? ''] ?? details.namedCurve } as KeySpec)
        : undefined;
  if (!spec) throw new KeyError(`unsupported private key type ${key.asymmetricKeyType}: use ${SUPPORTED}`);
  if (!supported(spec)) throw new KeyError(`unsupported private key ${label(spec)}: use ${SUPPORTED}`);
  return spec;
}

/** Algorithm and size of a PEM private key. */
export function describeKey(keyPem: string): KeySpec {
  return keySpecOf(loadPrivateKey(keyPem));
}

/** Lower-case hex SHA-256 of a public key's SubjectPublicKeyInfo DER: a stable identity for a key pair. */
export function spkiSha256(spkiDer: Uint8Array): string {
  return createHash('sha256').update(spkiDer).digest('hex');
}

/** `spkiSha256` of the public half of a PEM private key (compare with `parseCsr(...).publicKeySha256`). */
export function publicKeySha256(keyPem: string): string {
  return spkiSha256(createPublicKey(loadPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }));
}
