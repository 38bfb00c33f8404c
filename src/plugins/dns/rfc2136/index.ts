// RFC 2136 dynamic updates signed with TSIG (RFC 8945): adds and deletes one TXT record at the zone's primary
// server, then asks that same server until it answers with the record, so the CA is told to look only once the
// record is there. Every message is signed and every answer verified: an unsigned or forged answer is not
// trusted, whether it says yes or no.
import { randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { PluginConfigError, PluginIoError, errnoCode, type PluginError } from '../../errors';
import { parseHostPort, zoneName, type HostPort } from '../names';
import type { DnsProvider, DnsProviderFactory } from '..';
import type { Rfc2136Parameters } from './spec';
import {
  CLASS,
  OPCODE,
  TYPE,
  WireError,
  decodeMessage,
  encodeMessage,
  rcodeName,
  readTxt,
  signMessage,
  txtData,
  verifyResponse,
  type Message,
  type ResourceRecord,
  type TsigAlgorithm,
  type TsigKey,
} from './wire';

export interface Rfc2136Options {
  server: HostPort;
  /** Normalised; looked up at the server when absent. */
  zone?: string;
  key: TsigKey;
  ttl: number;
  propagationTimeoutMs: number;
  /** How long one UDP try or the TCP exchange may take. */
  attemptTimeoutMs?: number;
}

const UDP_TRIES = 3;
const ATTEMPT_TIMEOUT_MS = 2000;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export const createRfc2136Provider: DnsProviderFactory<Rfc2136Parameters> = async (spec, ctx) => {
  const p = spec.parameters;
  const subject = `dns rfc2136 ${p.server}`;
  // The loader checked both; a value it let through parses.
  const server = parseHostPort(p.server, 53)!;
  const zone = p.zone === undefined ? undefined : zoneName(p.zone)!;
  // The loader requires the credential: the section's `credentials` is always set here.
  const credential = spec.credentials!;
  const values = await ctx.credentials.resolve(credential, p.tsig_key_name === undefined ? {} : { api_id: p.tsig_key_name });
  const secret = values.api_key.replace(/\s+/g, '');
  if (!BASE64.test(secret)) throw new PluginConfigError(subject, `the api_key of credential '${credential}' is not a base64 TSIG secret`);
  return new Rfc2136Provider({
    server,
    ...(zone !== undefined && { zone }),
    key: { name: values.api_id, algorithm: p.tsig_algorithm as TsigAlgorithm, secret: Buffer.from(secret, 'base64') },
    ttl: p.ttl,
    propagationTimeoutMs: p.propagation_timeout * 1000,
  });
};

const canonical = (name: string): string => name.toLowerCase().replace(/\.$/, '');

export class Rfc2136Provider implements DnsProvider {
  private readonly subject: string;
  private readonly zones = new Map<string, Promise<string>>();
  private readonly attemptTimeoutMs: number;

  constructor(private readonly opts: Rfc2136Options) {
    const { host, port } = opts.server;
    this.subject = `dns rfc2136 ${net.isIPv6(host) ? `[${host}]` : host}:${port}`;
    this.attemptTimeoutMs = opts.attemptTimeoutMs ?? ATTEMPT_TIMEOUT_MS;
  }

  async present(fqdn: string, value: string): Promise<void> {
    const name = canonical(fqdn);
    const zone = await this.zoneOf(name);
    const record = { name, type: TYPE.TXT, class: CLASS.IN, ttl: this.opts.ttl, data: txtData(value) };
    await this.update(zone, record, `add TXT ${name} in zone ${zone}`);
    await this.waitVisible(name, value, zone);
  }

  async cleanup(fqdn: string, value: string): Promise<void> {
    const name = canonical(fqdn);
    const zone = await this.zoneOf(name);
    // Class NONE deletes this one record (RFC 2136 section 2.5.4), leaving other values of the name alone.
    const record = { name, type: TYPE.TXT, class: CLASS.NONE, ttl: 0, data: txtData(value) };
    await this.update(zone, record, `delete TXT ${name} in zone ${zone}`);
  }

  async close(): Promise<void> {
    // Every exchange opens and closes its own socket.
  }

  /** The TXT values the server holds at `name` now. */
  private async txtValues(name: string): Promise<string[]> {
    const what = `query TXT ${canonical(name)}`;
    const answer = await this.exchange(
      (id) => encodeMessage({ id, opcode: OPCODE.QUERY, question: { name, type: TYPE.TXT, class: CLASS.IN } }),
      what,
    );
    this.expectRcode(answer, what, [0, 3]);
    return answer.answers.filter((r) => r.type === TYPE.TXT && r.name === canonical(name)).map((r) => readTxt(r.data));
  }

  private zoneOf(name: string): Promise<string> {
    const { zone } = this.opts;
    if (zone !== undefined) {
      if (name !== zone && !name.endsWith(`.${zone}`)) {
        return Promise.reject(new PluginConfigError(this.subject, `${name} is not in zone ${zone} (parameters.zone)`));
      }
      return Promise.resolve(zone);
    }
    let found = this.zones.get(name);
    if (!found) {
      found = this.findZone(name);
      // A failed look-up is tried afresh next time.
      found.catch(() => this.zones.delete(name));
      this.zones.set(name, found);
    }
    return found;
  }

  /** An authoritative server names the zone in the SOA it answers with, or in the authority section of a no. */
  private async findZone(name: string): Promise<string> {
    const what = `find the zone of ${name} (SOA query)`;
    const answer = await this.exchange(
      (id) => encodeMessage({ id, opcode: OPCODE.QUERY, question: { name, type: TYPE.SOA, class: CLASS.IN } }),
      what,
    );
    this.expectRcode(answer, what, [0, 3]);
    const soa = [...answer.answers, ...answer.authorities].find((r) => r.type === TYPE.SOA);
    if (!soa || (name !== soa.name && !name.endsWith(`.${soa.name}`))) {
      throw new PluginConfigError(this.subject, `cannot ${what}: the server is not authoritative for it; set parameters.zone`);
    }
    return soa.name;
  }

  private async update(zone: string, record: ResourceRecord, what: string): Promise<void> {
    const message = (id: number) =>
      encodeMessage({ id, opcode: OPCODE.UPDATE, question: { name: zone, type: TYPE.SOA, class: CLASS.IN }, updates: [record] });
    this.expectRcode(await this.exchange(message, what), what, [0]);
  }

  private async waitVisible(name: string, value: string, zone: string): Promise<void> {
    const deadline = Date.now() + this.opts.propagationTimeoutMs;
    for (let pause = 100; ; pause = Math.min(pause * 2, 2000)) {
      if ((await this.txtValues(name)).includes(value)) return;
      if (Date.now() + pause > deadline) {
        const seconds = Math.round(this.opts.propagationTimeoutMs / 1000);
        throw new PluginIoError(this.subject, `TXT ${name} in zone ${zone} was updated but not visible after ${seconds} s`, 'ETIMEDOUT');
      }
      await sleep(pause);
    }
  }

  private expectRcode(answer: Message, what: string, accepted: number[]): void {
    if (accepted.includes(answer.rcode)) return;
    const code = rcodeName(answer.rcode);
    const key = `key '${this.opts.key.name}'`;
    const hints: Record<string, string> = {
      REFUSED: `the server refused; it must be authoritative for the zone and allow updates by ${key} (update-policy or allow-update)`,
      NOTAUTH: `the server is not authoritative for the zone or did not accept ${key}`,
      NOTZONE: 'the record is outside the zone',
      FORMERR: 'the server could not read the message',
      NOTIMP: 'the server does not implement dynamic updates',
    };
    const hint = hints[code];
    if (hint) throw new PluginConfigError(this.subject, `cannot ${what}: ${hint} (${code})`);
    throw new PluginIoError(this.subject, `cannot ${what}: the server answered ${code}`, code);
  }

  /** Sends a signed message (UDP, then TCP when the answer is truncated) and returns the verified answer. */
  private async exchange(build: (id: number) => Buffer, what: string): Promise<Message> {
    const id = randomInt(0x10000);
    let signed: Buffer;
    let mac: Buffer;
    try {
      ({ signed, mac } = signMessage(build(id), this.opts.key));
    } catch (e) {
      // A record name or key name that is no DNS name: only the configuration or the caller can change that.
      if (e instanceof WireError) throw new PluginConfigError(this.subject, `cannot ${what}: ${e.message}`);
      throw e;
    }
    let raw = await this.udp(signed, id, what);
    let answer = this.decode(raw, what);
    if (answer.truncated) {
      raw = await this.tcp(signed, id, what);
      answer = this.decode(raw, what);
    }
    const verdict = verifyResponse(raw, answer, mac, this.opts.key);
    if (verdict.ok) return answer;
    const key = `key '${this.opts.key.name}' (${this.opts.key.algorithm})`;
    if (verdict.problem === 'server error') {
      const code = rcodeName(verdict.error);
      const hints: Record<string, string> = {
        BADSIG: `the server rejected the signature of ${key}: the secret differs from the server's`,
        BADKEY: `the server does not know ${key}: check the key name and algorithm`,
        BADTIME: "the server's clock and this machine's differ by more than 5 minutes",
      };
      throw new PluginConfigError(this.subject, `cannot ${what}: ${hints[code] ?? 'the server rejected the TSIG signature'} (${code})`);
    }
    // An unsigned refusal still tells why the server said no; an unsigned or forged success is not believed.
    if (answer.rcode !== 0) this.expectRcode(answer, `${what} (unsigned answer)`, []);
    throw new PluginIoError(this.subject, `cannot ${what}: the answer failed TSIG verification with ${key} (${verdict.problem})`, 'EBADSIG');
  }

  private decode(raw: Buffer, what: string): Message {
    try {
      return decodeMessage(raw);
    } catch (e) {
      if (e instanceof WireError) throw new PluginIoError(this.subject, `cannot ${what}: unreadable answer (${e.message})`, 'EPROTO');
      throw e;
    }
  }

  private ioError(what: string, err: unknown): PluginError {
    const code = errnoCode(err) ?? 'EIO';
    return new PluginIoError(this.subject, `cannot ${what}: ${code}`, code, { cause: err });
  }

  private udp(packet: Buffer, id: number, what: string): Promise<Buffer> {
    const { host, port } = this.opts.server;
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
      let timer: NodeJS.Timeout | undefined;
      let settled = false;
      const finish = (err: PluginError | null, answer?: Buffer) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.close();
        if (err) reject(err);
        else resolve(answer!);
      };
      let tries = 0;
      // UDP loses packets; the same signed message is sent again (adding or deleting a record twice is harmless).
      const send = () => {
        if (tries++ === UDP_TRIES) {
          finish(new PluginIoError(this.subject, `cannot ${what}: no answer after ${UDP_TRIES} tries over UDP`, 'ETIMEDOUT'));
          return;
        }
        socket.send(packet, port, host, (e) => e && finish(this.ioError(what, e)));
        timer = setTimeout(send, this.attemptTimeoutMs);
      };
      socket.on('message', (msg) => {
        // Stray datagrams (late answers to an earlier try of another exchange) are not ours.
        if (msg.length >= 12 && msg.readUInt16BE(0) === id && (msg[2] & 0x80) !== 0) finish(null, msg);
      });
      socket.on('error', (e) => finish(this.ioError(what, e)));
      send();
    });
  }

  private tcp(packet: Buffer, id: number, what: string): Promise<Buffer> {
    const { host, port } = this.opts.server;
    return new Promise((resolve, reject) => {
      const socket = net.connect({ host, port });
      let received = Buffer.alloc(0);
      const fail = (err: PluginError) => {
        socket.destroy();
        reject(err);
      };
      socket.setTimeout(this.attemptTimeoutMs * UDP_TRIES, () =>
        fail(new PluginIoError(this.subject, `cannot ${what}: no answer over TCP`, 'ETIMEDOUT')),
      );
      socket.on('connect', () => {
        const length = Buffer.alloc(2);
        length.writeUInt16BE(packet.length);
        socket.write(Buffer.concat([length, packet]));
      });
      socket.on('data', (chunk) => {
        received = Buffer.concat([received, chunk]);
        if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) return;
        const answer = received.subarray(2, 2 + received.readUInt16BE(0));
        socket.end();
        if (answer.length >= 2 && answer.readUInt16BE(0) === id) resolve(answer);
        else fail(new PluginIoError(this.subject, `cannot ${what}: the TCP answer is for another message`, 'EPROTO'));
      });
      socket.on('error', (e) => fail(this.ioError(what, e)));
      socket.on('close', () => fail(new PluginIoError(this.subject, `cannot ${what}: the server closed the TCP connection`, 'ECONNRESET')));
    });
  }
}
