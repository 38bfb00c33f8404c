// Errors a person can fix by changing the input (a file, a blueprint value): activities treat every X509Error as
// not retryable. Messages describe the problem and never contain key material.

export class X509Error extends Error {
  override name = 'X509Error';
}

/** Input is not a usable certificate (empty, not PEM, malformed DER). */
export class CertificateError extends X509Error {
  override name = 'CertificateError';
}

/** Input is not a usable private key, or one of an unsupported type. */
export class KeyError extends X509Error {
  override name = 'KeyError';
}

/** A CSR that cannot be made or read, or whose signature does not verify. */
export class CsrError extends X509Error {
  override name = 'CsrError';
}
