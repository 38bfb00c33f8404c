// A real BIND 9 on a free loopback port, for DNS-01 tests: one primary zone (`* IN A 127.0.0.1`, short TTLs)
// whose TXT records TSIG keys may update (RFC 2136), and nothing else (no recursion, no control channel).
//
//   const bind = await startBind();                   // zone example.test, keys from tsig-keygen
//   ... server 127.0.0.1:<bind.port>, key bind.keyName / bind.secret (base64, hmac-sha256); bind.keys: one per algorithm
//   await bind.stop();
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { Resolver } from 'node:dns/promises';
import dgram from 'node:dgram';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { TSIG_ALGORITHMS, type TsigAlgorithm } from '../../src/plugins/dns/rfc2136/wire';
import { systemBinary } from './system-binary';

const execFileAsync = promisify(execFile);

export interface TestTsigKey {
  name: string;
  algorithm: TsigAlgorithm;
  secret: string;
}

export interface TestBind {
  port: number;
  /** `127.0.0.1:<port>`, the form of the rfc2136 `server` parameter. */
  server: string;
  zone: string;
  keyName: string;
  /** Base64, as tsig-keygen wrote it. */
  secret: string;
  algorithm: 'hmac-sha256';
  /** A key per TSIG algorithm the provider offers, each allowed to update the zone (hmac-sha256: keyName's). */
  keys: TestTsigKey[];
  /** A resolver asking this server only: a DNS client independent of the code under test. */
  resolver: Resolver;
  /** named's output so far, for assertion messages. */
  log(): string;
  stop(): Promise<void>;
}

/** A port free for both UDP and TCP on 127.0.0.1 (named listens on both). */
async function freeDnsPort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as net.AddressInfo;
        server.close(() => resolve(port));
      });
      server.on('error', reject);
    });
    const udpFree = await new Promise<boolean>((resolve) => {
      const socket = dgram.createSocket('udp4');
      socket.once('error', () => resolve(false));
      socket.bind(port, '127.0.0.1', () => socket.close(() => resolve(true)));
    });
    if (udpFree) return port;
  }
  throw new Error('no loopback port free for both UDP and TCP');
}

export async function startBind(opts: { zone?: string; keyName?: string } = {}): Promise<TestBind> {
  const zone = opts.zone ?? 'example.test';
  const keyName = opts.keyName ?? 'autossl-test-key';
  const [named, tsigKeygen] = await Promise.all([systemBinary('named', 'bind9'), systemBinary('tsig-keygen', 'bind9')]);
  const names = TSIG_ALGORITHMS.map((algorithm) => [algorithm === 'hmac-sha256' ? keyName : `${keyName}-${algorithm}`, algorithm] as const);
  const keyConfs = await Promise.all(names.map(([name, algorithm]) => execFileAsync(tsigKeygen, ['-a', algorithm, name]).then((r) => r.stdout)));
  const keys = keyConfs.map((conf, i): TestTsigKey => {
    const secret = /secret "([^"]+)"/.exec(conf)?.[1];
    if (!secret) throw new Error(`tsig-keygen printed no secret:\n${conf}`);
    return { name: names[i][0], algorithm: names[i][1], secret };
  });
  const port = await freeDnsPort();
  // The directory holds the zone's journal: named (running as this user) writes it on every update.
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-bind-'));
  await fs.writeFile(
    path.join(dir, `${zone}.db`),
    ['$TTL 5', `@ IN SOA ns.${zone}. hostmaster.${zone}. ( 1 5 5 60 5 )`, `@ IN NS ns.${zone}.`, '@ IN A 127.0.0.1', '* IN A 127.0.0.1', ''].join(
      '\n',
    ),
  );
  const conf = path.join(dir, 'named.conf');
  await fs.writeFile(
    conf,
    `${keyConfs.join('\n')}
options {
  directory "${dir}";
  pid-file "${path.join(dir, 'named.pid')}";
  session-keyfile "${path.join(dir, 'session.key')}";
  managed-keys-directory "${dir}";
  listen-on port ${port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
zone "${zone}" {
  type primary;
  file "${zone}.db";
  update-policy { ${keys.map((k) => `grant ${k.name} zonesub TXT;`).join(' ')} };
};
`,
  );

  let output = '';
  // Foreground (-g) logs to stderr and stops with the test; -u is not needed on an unprivileged port.
  const child: ChildProcess = spawn(named, ['-g', '-c', conf], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', reject));

  const resolver = new Resolver({ timeout: 500, tries: 1 });
  resolver.setServers([`127.0.0.1:${port}`]);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await fs.rm(dir, { recursive: true, force: true });
  };

  try {
    const deadline = Date.now() + 15_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`named exited with ${child.exitCode}:\n${output}`);
      const answered = await Promise.race([
        resolver.resolveSoa(zone).then(
          () => true,
          () => false,
        ),
        spawnFailed,
      ]);
      if (answered) break;
      if (Date.now() > deadline) throw new Error(`named did not answer on 127.0.0.1:${port} within 15 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  } catch (e) {
    await stop();
    throw e;
  }

  const { secret } = keys.find((k) => k.name === keyName)!;
  return { port, server: `127.0.0.1:${port}`, zone, keyName, secret, algorithm: 'hmac-sha256', keys, resolver, log: () => output, stop };
}
