// Just enough DER to read the public half stored inside a private key, so `check` can match thousands of key
// pairs without OpenSSL 3's key decoders (about 0.3 ms per EC key). Anything unexpected returns undefined and the
// caller falls back to OpenSSL, which also produces the proper error for a malformed key.

interface Tlv {
  tag: number;
  /** Content bytes. */
  value: Buffer;
  /** Offset just past this element in its parent. */
  end: number;
}

function readTlv(buf: Buffer, at: number): Tlv | undefined {
  if (at + 2 > buf.length) return undefined;
  const tag = buf[at];
  let length = buf[at + 1];
  let start = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3 || start + octets > buf.length) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + buf[start + i];
    start += octets;
  }
  const end = start + length;
  if (end > buf.length) return undefined;
  return { tag, value: buf.subarray(start, end), end };
}

/** The elements of a constructed value, in order; undefined if they do not exactly fill it. */
function children(value: Buffer): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let at = 0; at < value.length;) {
    const tlv = readTlv(value, at);
    if (!tlv) return undefined;
    out.push(tlv);
    at = tlv.end;
  }
  return out;
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const BIT_STRING = 0x03;
const OID = 0x06;
const CONTEXT_0 = 0xa0;
const CONTEXT_1 = 0xa1;

const RSA_ENCRYPTION = '2a864886f70d010101';
const EC_PUBLIC_KEY = '2a8648ce3d0201';
const CURVES: Readonly<Record<string, string>> = {
  '2a8648ce3d030107': 'P-256',
  '2b81040022': 'P-384',
  '2b81040023': 'P-521',
};

/** A public key as JWK members (base64url), the form `createPublicKey({ format: 'jwk' })` takes. */
export type PublicJwk = { kty: 'RSA'; n: string; e: string } | { kty: 'EC'; crv: string; x: string; y: string };

const b64url = (b: Buffer) => b.toString('base64url');
const unsigned = (b: Buffer) => {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  return b.subarray(i);
};

function sequence(der: Buffer): Tlv[] | undefined {
  const outer = readTlv(der, 0);
  return outer && outer.tag === SEQUENCE && outer.end === der.length ? children(outer.value) : undefined;
}

// RSAPrivateKey ::= SEQUENCE { version, modulus, publicExponent, ... } (RFC 8017)
function rsaPublic(der: Buffer): PublicJwk | undefined {
  const f = sequence(der);
  // Two primes: version, n, e, d, p, q, dP, dQ, qInv.
  if (!f || f.length !== 9 || f.some((t) => t.tag !== INTEGER)) return undefined;
  return { kty: 'RSA', n: b64url(unsigned(f[1].value)), e: b64url(unsigned(f[2].value)) };
}

// ECPrivateKey ::= SEQUENCE { version, privateKey OCTET STRING, [0] parameters OPTIONAL, [1] publicKey OPTIONAL }
// (RFC 5915); only an uncompressed point is used.
function ecPublic(der: Buffer, curveOid: string | undefined): PublicJwk | undefined {
  const f = sequence(der);
  if (!f || f.length < 2 || f[0].tag !== INTEGER || f[1].tag !== OCTET_STRING) return undefined;
  let oid = curveOid;
  let point: Buffer | undefined;
  for (const t of f.slice(2)) {
    const inner = readTlv(t.value, 0);
    if (t.tag === CONTEXT_0 && inner?.tag === OID) oid ??= inner.value.toString('hex');
    if (t.tag === CONTEXT_1 && inner?.tag === BIT_STRING && inner.value[0] === 0) point = inner.value.subarray(1);
  }
  const crv = oid === undefined ? undefined : CURVES[oid];
  const half = point ? point.length >> 1 : 0;
  if (!crv || !point || point[0] !== 0x04 || point.length !== 2 * half + 1 || f[1].value.length !== half) return undefined;
  return { kty: 'EC', crv, x: b64url(point.subarray(1, 1 + half)), y: b64url(point.subarray(1 + half)) };
}

// PrivateKeyInfo ::= SEQUENCE { version, AlgorithmIdentifier, privateKey OCTET STRING, ... } (RFC 5208)
function pkcs8Public(der: Buffer): PublicJwk | undefined {
  const f = sequence(der);
  if (!f || f.length < 3 || f[0].tag !== INTEGER || f[1].tag !== SEQUENCE || f[2].tag !== OCTET_STRING) return undefined;
  const algorithm = children(f[1].value);
  if (!algorithm || algorithm[0]?.tag !== OID) return undefined;
  const oid = algorithm[0].value.toString('hex');
  if (oid === RSA_ENCRYPTION) return rsaPublic(f[2].value);
  if (oid === EC_PUBLIC_KEY && algorithm[1]?.tag === OID) return ecPublic(f[2].value, algorithm[1].value.toString('hex'));
  return undefined;
}

const PEM_KEY = /^\s*-----BEGIN (RSA |EC |)PRIVATE KEY-----\r?\n([A-Za-z0-9+/=\r\n]+)-----END \1PRIVATE KEY-----\s*$/;

/** The public half written inside a PEM private key (PKCS#8, PKCS#1 or SEC1), if it is there and plain. */
export function embeddedPublicKey(keyPem: string): PublicJwk | undefined {
  const m = PEM_KEY.exec(keyPem);
  if (!m) return undefined;
  const der = Buffer.from(m[2], 'base64');
  if (m[1] === 'RSA ') return rsaPublic(der);
  if (m[1] === 'EC ') return ecPublic(der, undefined);
  return pkcs8Public(der);
}
