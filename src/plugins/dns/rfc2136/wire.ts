// DNS messages on the wire (RFC 1035), as much as dynamic updates (RFC 2136) and their TSIG signatures (RFC 8945)
// need. TSIG signs the exact bytes sent and received, so the codec keeps raw offsets instead of re-encoding.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ClassifiedError } from '../../../errors';

export const TYPE = { SOA: 6, TXT: 16, TSIG: 250 } as const;
export const CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
export const OPCODE = { QUERY: 0, UPDATE: 5 } as const;

export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

export const rcodeName = (code: number): string => RCODE_NAMES[code] ?? `RCODE ${code}`;

/** A message the codec cannot read: a broken or hostile answer. */
export class WireError extends ClassifiedError {
  override readonly name = 'WireError';
}

export interface ResourceRecord {
  name: string;
  type: number;
  class: number;
  ttl: number;
  data: Buffer;
}

interface ParsedRecord extends ResourceRecord {
  /** Offset of the record in the message, and of its data: TSIG verification cuts the message there. */
  start: number;
  dataStart: number;
}

export interface Message {
  id: number;
  opcode: number;
  truncated: boolean;
  response: boolean;
  rcode: number;
  answers: ParsedRecord[];
  authorities: ParsedRecord[];
  additionals: ParsedRecord[];
}

/** Uncompressed, lower-case wire form: TSIG computes its MAC over this canonical form of names. */
export function encodeName(name: string): Buffer {
  const trimmed = name.replace(/\.$/, '');
  // The root name ('' or '.') has no labels.
  const labels = trimmed === '' ? [] : trimmed.split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label.toLowerCase(), 'ascii');
    if (bytes.length === 0 || bytes.length > 63) throw new WireError(`'${name}' is not a DNS name (empty or long label)`);
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  return Buffer.concat([...parts, Buffer.from([0])]);
}

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(n);
  return b;
};

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};

const u48 = (n: number): Buffer => {
  const b = Buffer.alloc(6);
  b.writeUIntBE(n, 0, 6);
  return b;
};

export function encodeRecord(rr: ResourceRecord): Buffer {
  return Buffer.concat([encodeName(rr.name), u16(rr.type), u16(rr.class), u32(rr.ttl), u16(rr.data.length), rr.data]);
}

/** TXT RDATA: the value cut into character-strings of at most 255 bytes. */
export function txtData(value: string): Buffer {
  const bytes = Buffer.from(value, 'utf8');
  const parts: Buffer[] = [];
  for (let at = 0; at < bytes.length || parts.length === 0; at += 255) {
    const chunk = bytes.subarray(at, at + 255);
    parts.push(Buffer.from([chunk.length]), chunk);
  }
  return Buffer.concat(parts);
}

/** A TXT record's character-strings joined, the way ACME servers compare them. */
export function readTxt(data: Buffer): string {
  const parts: Buffer[] = [];
  for (let at = 0; at < data.length;) {
    const length = data[at];
    if (at + 1 + length > data.length) throw new WireError('TXT record overruns its data');
    parts.push(data.subarray(at + 1, at + 1 + length));
    at += 1 + length;
  }
  return Buffer.concat(parts).toString('utf8');
}

export interface OutgoingMessage {
  id: number;
  opcode: number;
  /** QUERY: the question; UPDATE: the zone (type SOA). */
  question: { name: string; type: number; class: number };
  /** UPDATE: the update section (it sits where a query's authority section is). */
  updates?: ResourceRecord[];
}

export function encodeMessage(m: OutgoingMessage): Buffer {
  const updates = m.updates ?? [];
  const header = Buffer.concat([u16(m.id), u16(m.opcode << 11), u16(1), u16(0), u16(updates.length), u16(0)]);
  const question = Buffer.concat([encodeName(m.question.name), u16(m.question.type), u16(m.question.class)]);
  return Buffer.concat([header, question, ...updates.map(encodeRecord)]);
}

/** Reads a possibly compressed name at `offset`; `next` is the offset after it in the record. */
function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = offset;
  let next = -1;
  // A pointer loop would otherwise spin forever; 128 jumps is more than any real name needs.
  for (let jumps = 0; jumps < 128;) {
    if (at >= buf.length) throw new WireError('name overruns the message');
    const length = buf[at];
    if (length === 0) {
      return { name: labels.join('.'), next: next < 0 ? at + 1 : next };
    }
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= buf.length) throw new WireError('name pointer overruns the message');
      if (next < 0) next = at + 2;
      at = ((length & 0x3f) << 8) | buf[at + 1];
      jumps++;
      continue;
    }
    if (length > 63 || at + 1 + length > buf.length) throw new WireError('bad label in name');
    labels.push(buf.toString('latin1', at + 1, at + 1 + length).toLowerCase());
    at += 1 + length;
  }
  throw new WireError('name compression loop');
}

export function decodeMessage(buf: Buffer): Message {
  if (buf.length < 12) throw new WireError(`message of ${buf.length} bytes is shorter than a header`);
  const flags = buf.readUInt16BE(2);
  const counts = [4, 6, 8, 10].map((o) => buf.readUInt16BE(o));
  let at = 12;
  for (let i = 0; i < counts[0]; i++) at = readName(buf, at).next + 4;
  const sections: ParsedRecord[][] = [[], [], []];
  for (const [s, records] of sections.entries()) {
    for (let i = 0; i < counts[s + 1]; i++) {
      const start = at;
      const { name, next } = readName(buf, at);
      if (next + 10 > buf.length) throw new WireError('record header overruns the message');
      const length = buf.readUInt16BE(next + 8);
      const dataStart = next + 10;
      if (dataStart + length > buf.length) throw new WireError('record data overruns the message');
      records.push({
        name,
        type: buf.readUInt16BE(next),
        class: buf.readUInt16BE(next + 2),
        ttl: buf.readUInt32BE(next + 4),
        data: buf.subarray(dataStart, dataStart + length),
        start,
        dataStart,
      });
      at = dataStart + length;
    }
  }
  return {
    id: buf.readUInt16BE(0),
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    answers: sections[0],
    authorities: sections[1],
    additionals: sections[2],
  };
}

// ---------------------------------------------------------------------------------------------------------------
// TSIG (RFC 8945)

export const TSIG_ALGORITHMS = ['hmac-sha256', 'hmac-sha512', 'hmac-sha1'] as const;
export type TsigAlgorithm = (typeof TSIG_ALGORITHMS)[number];

export interface TsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: Buffer;
}

const HASHES: Readonly<Record<TsigAlgorithm, string>> = { 'hmac-sha256': 'sha256', 'hmac-sha512': 'sha512', 'hmac-sha1': 'sha1' };

/** The clock skew allowed both ways, the value RFC 8945 recommends. */
const FUDGE_SECONDS = 300;

interface TsigFields {
  timeSigned: number;
  fudge: number;
  error: number;
  other: Buffer;
}

/** The TSIG variables of RFC 8945 section 4.3.3: what is signed besides the message. */
function tsigVariables(key: TsigKey, f: TsigFields): Buffer {
  return Buffer.concat([
    encodeName(key.name),
    u16(CLASS.ANY),
    u32(0),
    encodeName(key.algorithm),
    u48(f.timeSigned),
    u16(f.fudge),
    u16(f.error),
    u16(f.other.length),
    f.other,
  ]);
}

const hmac = (key: TsigKey, parts: Buffer[]): Buffer => {
  const h = createHmac(HASHES[key.algorithm], key.secret);
  for (const part of parts) h.update(part);
  return h.digest();
};

/** Appends a TSIG record to `message`; keep `mac` to verify the answer. */
export function signMessage(message: Buffer, key: TsigKey, nowMs = Date.now()): { signed: Buffer; mac: Buffer } {
  const fields: TsigFields = { timeSigned: Math.floor(nowMs / 1000), fudge: FUDGE_SECONDS, error: 0, other: Buffer.alloc(0) };
  const mac = hmac(key, [message, tsigVariables(key, fields)]);
  const data = Buffer.concat([
    encodeName(key.algorithm),
    u48(fields.timeSigned),
    u16(fields.fudge),
    u16(mac.length),
    mac,
    message.subarray(0, 2),
    u16(0),
    u16(0),
  ]);
  const signed = Buffer.concat([message, encodeRecord({ name: key.name, type: TYPE.TSIG, class: CLASS.ANY, ttl: 0, data })]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { signed, mac };
}

export type TsigVerdict =
  | { ok: true }
  /** `error` is the TSIG error the server reported (BADSIG, BADKEY, BADTIME), else 0. */
  | { ok: false; problem: 'unsigned' | 'bad signature' | 'clock skew' | 'server error'; error: number };

/** Checks the TSIG record closing a response to a request whose MAC was `requestMac`. */
export function verifyResponse(raw: Buffer, message: Message, requestMac: Buffer, key: TsigKey, nowMs = Date.now()): TsigVerdict {
  const tsig = message.additionals.at(-1);
  if (tsig?.type !== TYPE.TSIG) return { ok: false, problem: 'unsigned', error: 0 };
  const algorithm = readName(raw, tsig.dataStart);
  let at = algorithm.next;
  if (at + 10 > raw.length) throw new WireError('TSIG record is cut short');
  const timeSigned = raw.readUIntBE(at, 6);
  const fudge = raw.readUInt16BE(at + 6);
  const macLength = raw.readUInt16BE(at + 8);
  at += 10;
  const mac = raw.subarray(at, at + macLength);
  at += macLength;
  if (at + 6 > tsig.dataStart + tsig.data.length) throw new WireError('TSIG record is cut short');
  const originalId = raw.readUInt16BE(at);
  const error = raw.readUInt16BE(at + 2);
  const otherLength = raw.readUInt16BE(at + 4);
  const other = raw.subarray(at + 6, at + 6 + otherLength);
  if (error !== 0) return { ok: false, problem: 'server error', error };
  if (tsig.name !== key.name.toLowerCase().replace(/\.$/, '') || algorithm.name !== key.algorithm) {
    return { ok: false, problem: 'bad signature', error: 0 };
  }
  // The MAC covers the message as it was before the TSIG record was added, with its original id.
  const unsigned = Buffer.from(raw.subarray(0, tsig.start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(raw.readUInt16BE(10) - 1, 10);
  const expected = hmac(key, [u16(requestMac.length), requestMac, unsigned, tsigVariables(key, { timeSigned, fudge, error, other })]);
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) return { ok: false, problem: 'bad signature', error: 0 };
  if (Math.abs(Math.floor(nowMs / 1000) - timeSigned) > fudge) return { ok: false, problem: 'clock skew', error: 0 };
  return { ok: true };
}
