// Errors a person can fix by changing the input (a file, a blueprint value): classified in src/errors.ts as input,
// not retryable. Messages describe the problem and never contain key material.
import { ClassifiedError, type ErrorName } from '../errors';

export class X509Error extends ClassifiedError {
  override readonly name: ErrorName = 'X509Error';
}

/** Input is not a usable certificate (empty, not PEM, malformed DER). */
export class CertificateError extends X509Error {
  override readonly name: ErrorName = 'CertificateError';
}

/** Input is not a usable private key, or one of an unsupported type. */
export class KeyError extends X509Error {
  override readonly name: ErrorName = 'KeyError';
}

/** A CSR that cannot be made or read, or whose signature does not verify. */
export class CsrError extends X509Error {
  override readonly name: ErrorName = 'CsrError';
}
