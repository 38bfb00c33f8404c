// SSH host key checking as OpenSSH does it: a key is trusted when a known_hosts file lists it for the host (plain,
// wildcard or hashed names, `[host]:port` for other ports than 22, `@revoked` honoured) or when it has the
// fingerprint pinned in the blueprint. Pure functions over the key blob the server offers; ssh.ts wires them in.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/** OpenSSH's `SHA256:<base64 without padding>` form, as `ssh-keygen -l` and `ssh` print it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;

/** The pinned fingerprint in canonical form (no padding), or undefined when `text` is not one. */
export function normaliseFingerprint(text: string): string | undefined {
  const found = FINGERPRINT.exec(text.trim());
  return found ? `SHA256:${found[1]}` : undefined;
}

/** The key type written inside a key blob: `ssh-ed25519`, `ssh-rsa`, `ecdsa-sha2-nistp256`, ... */
export function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const length = blob.readUInt32BE(0);
  return length <= blob.length - 4 ? blob.subarray(4, 4 + length).toString('latin1') : 'unknown';
}

/** How OpenSSH names a host in known_hosts: the bare name on port 22, `[name]:port` elsewhere. */
export const knownHostsName = (host: string, port: number): string => (port === 22 ? host : `[${host}]:${port}`);

export interface KnownKey {
  type: string;
  blob: Buffer;
  revoked: boolean;
  /** 1-based line in the file, for messages. */
  line: number;
}

/** Every key a known_hosts text lists for `name` (see `knownHostsName`). CA lines are not supported and skipped. */
export function knownKeysFor(text: string, name: string): KnownKey[] {
  const keys: KnownKey[] = [];
  for (const [i, raw] of text.split(/\r?\n/).entries()) {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0].startsWith('#')) continue;
    const marker = fields[0].startsWith('@') ? fields.shift() : undefined;
    if (marker === '@cert-authority' || fields.length < 3) continue;
    const [hosts, type, base64] = fields;
    if (!hostsMatch(hosts, name)) continue;
    keys.push({ type, blob: Buffer.from(base64, 'base64'), revoked: marker === '@revoked', line: i + 1 });
  }
  return keys;
}

function hostsMatch(field: string, name: string): boolean {
  if (field.startsWith('|1|')) return hashedMatch(field, name);
  let matched = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    if (!wildcard(negated ? pattern.slice(1) : pattern).test(name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|salt|hash`: HMAC-SHA1 of the name keyed with the salt (HashKnownHosts yes). */
function hashedMatch(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function wildcard(pattern: string): RegExp {
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i');
}

/**
 * Host key algorithms to offer when known_hosts lists keys of `types` for the host, so the server presents one
 * of those rather than another kind that would look unknown (ssh does the same). Empty means no preference.
 */
export function hostKeyAlgorithms(types: string[]): string[] {
  return HOST_KEY_ALGORITHMS.filter(([type]) => types.includes(type)).flatMap(([, algorithms]) => algorithms);
}

/** In ssh2's order of preference. */
const HOST_KEY_ALGORITHMS: [string, string[]][] = [
  ['ssh-ed25519', ['ssh-ed25519']],
  ['ecdsa-sha2-nistp256', ['ecdsa-sha2-nistp256']],
  ['ecdsa-sha2-nistp384', ['ecdsa-sha2-nistp384']],
  ['ecdsa-sha2-nistp521', ['ecdsa-sha2-nistp521']],
  ['ssh-rsa', ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']],
];

export type HostKeyVerdict = { trusted: true } | { trusted: false; reason: 'unknown' | 'mismatch' | 'revoked'; expected?: string; line?: number };

/** Judges the offered key against the keys known for the host. */
export function judgeHostKey(offered: Buffer, known: KnownKey[]): HostKeyVerdict {
  const same = known.filter((k) => k.blob.equals(offered));
  const revoked = same.find((k) => k.revoked);
  if (revoked) return { trusted: false, reason: 'revoked', line: revoked.line };
  if (same.length > 0) return { trusted: true };
  const other = known.find((k) => !k.revoked);
  return other ? { trusted: false, reason: 'mismatch', expected: fingerprint(other.blob), line: other.line } : { trusted: false, reason: 'unknown' };
}
