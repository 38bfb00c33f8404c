// Pebble, Let's Encrypt's test CA, with pebble-challtestsrv as its DNS (every name resolves to 127.0.0.1), on free
// loopback ports. Pebble validates HTTP-01 at `<domain>:<httpPort>`: `serveAcmeDirs` answers there from the
// servers' acme_dir folders, the way a web server in front of them would.
//
//   const pebble = await startPebble();                 // AUTOSSL_PEBBLE (e.g. a newer build with ARI) or PATH
//   const web = await serveAcmeDirs(pebble.httpPort, [dirA, dirB]);
//   ... serveAcmeDirs(port, dirs, { hold: true }): validations wait (web.held()) until web.release()
//   ... acme_api.production: pebble.directoryUrl, parameters.ca_bundle: pebble.caBundlePath
//   await pebble.stopCa(); await pebble.startCa();     // the CA away for a while, back on the same ports
//   await web.close(); await pebble.stop();
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/worker/dev-server';
import { issueLeaf, makeCa } from './pki';
import { systemBinary } from './system-binary';

export interface TestPebble {
  directoryUrl: string;
  /** PEM file of the CA that signed Pebble's own HTTPS certificate (the `ca_bundle` CA parameter). */
  caBundlePath: string;
  /** Port where Pebble's VA fetches HTTP-01 challenges. */
  httpPort: number;
  /** Pebble's current root and intermediate, PEM (they change when Pebble restarts). */
  root(): Promise<string>;
  intermediate(): Promise<string>;
  /** Whether this Pebble offers ACME Renewal Information (2.4 does not; newer releases do). */
  offersAri(): Promise<boolean>;
  /** Overrides the renewal window Pebble suggests for a certificate it issued (newer releases only). */
  setRenewalWindow(certificatePem: string, window: { start: string; end: string }): Promise<void>;
  /** Output of Pebble so far, for assertion messages. */
  log(): string;
  stopCa(): Promise<void>;
  startCa(): Promise<void>;
  stop(): Promise<void>;
}

export interface PebbleOptions {
  /** Share of nonces Pebble rejects as bad (PEBBLE_WFE_NONCEREJECT); 0 unless given. */
  nonceRejectPercent?: number;
  /** A DNS server (`host:port`) Pebble resolves names and DNS-01 records with, instead of pebble-challtestsrv. */
  dnsServer?: string;
}

const READY_TIMEOUT_MS = 15_000;

export async function startPebble(opts: PebbleOptions = {}): Promise<TestPebble> {
  const [pebbleBinary, challtestsrv] = await Promise.all([
    process.env.AUTOSSL_PEBBLE ?? systemBinary('pebble', 'pebble'),
    systemBinary('pebble-challtestsrv', 'pebble'),
  ]);
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-pebble-'));
  const tlsCa = await makeCa({ commonName: 'autossl test Pebble TLS CA' });
  const tls = await issueLeaf(tlsCa, { domains: ['localhost'] });
  const caBundlePath = path.join(dir, 'tls-ca.pem');
  await fs.writeFile(caBundlePath, tlsCa.certPem);
  await fs.writeFile(path.join(dir, 'cert.pem'), tls.certPem);
  await fs.writeFile(path.join(dir, 'key.pem'), tls.keyPem);
  const [listen, management, httpPort, tlsPort, dnsPort, dnsManagement] = await Promise.all(Array.from({ length: 6 }, () => freePort()));
  const config = {
    pebble: {
      listenAddress: `127.0.0.1:${listen}`,
      managementListenAddress: `127.0.0.1:${management}`,
      certificate: path.join(dir, 'cert.pem'),
      privateKey: path.join(dir, 'key.pem'),
      httpPort,
      tlsPort,
      ocspResponderURL: '',
      externalAccountBindingRequired: false,
      // Read by releases with profiles, ignored by 2.4.
      profiles: {
        default: { description: 'default', validityPeriod: 7_776_000 },
        shortlived: { description: 'six days', validityPeriod: 518_400 },
      },
    },
  };
  await fs.writeFile(path.join(dir, 'pebble-config.json'), JSON.stringify(config));

  let output = '';
  const collect = (child: ChildProcess) => {
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  };
  const dns = opts.dnsServer
    ? undefined
    : spawn(
        challtestsrv,
        [
          '-defaultIPv4',
          '127.0.0.1',
          '-defaultIPv6',
          '',
          '-dns01',
          `127.0.0.1:${dnsPort}`,
          '-http01',
          '',
          '-https01',
          '',
          '-tlsalpn01',
          '',
          '-management',
          `127.0.0.1:${dnsManagement}`,
        ],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
  if (dns) collect(dns);
  const dnsServer = opts.dnsServer ?? `127.0.0.1:${dnsPort}`;

  const agent = new https.Agent({ ca: tlsCa.certPem });
  const request = (url: string, body?: string) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      // Newer Pebble releases refuse requests without a User-Agent.
      const req = https.request(url, { agent, method: body === undefined ? 'GET' : 'POST', headers: { 'user-agent': 'autossl-test' } }, (res) => {
        let text = '';
        res
          .setEncoding('utf8')
          .on('data', (d) => (text += d))
          .on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      });
      req.on('error', reject).end(body);
    });
  const get = (url: string) => request(url);
  const directoryUrl = `https://localhost:${listen}/dir`;

  let ca: ChildProcess | undefined;
  const startCa = async () => {
    ca = spawn(pebbleBinary, ['-config', path.join(dir, 'pebble-config.json'), '-dnsserver', dnsServer], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: String(opts.nonceRejectPercent ?? 0),
        // Every order gets fresh authorizations, so every issuance really answers challenges.
        PEBBLE_AUTHZREUSE: '0',
      },
    });
    collect(ca);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      const ready = await get(directoryUrl).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ready) return;
      if (ca.exitCode !== null || Date.now() > deadline) throw new Error(`Pebble did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const stopProcess = async (child: ChildProcess | undefined) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const fetchPem = async (what: string) => {
    const { status, body } = await get(`https://localhost:${management}/${what}/0`);
    if (status !== 200) throw new Error(`Pebble management /${what}/0 answered ${status}`);
    return body;
  };

  try {
    await startCa();
  } catch (err) {
    await Promise.all([stopProcess(ca), stopProcess(dns)]);
    await fs.rm(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    directoryUrl,
    caBundlePath,
    httpPort,
    root: () => fetchPem('roots'),
    intermediate: () => fetchPem('intermediates'),
    offersAri: async () => 'renewalInfo' in JSON.parse((await get(directoryUrl)).body),
    async setRenewalWindow(certificatePem, window) {
      const body = JSON.stringify({ Certificate: certificatePem, ARIResponse: JSON.stringify({ suggestedWindow: window }) });
      const { status, body: answer } = await request(`https://localhost:${management}/set-renewal-info/`, body);
      if (status !== 200) throw new Error(`Pebble set-renewal-info answered ${status}: ${answer}`);
    },
    log: () => output,
    stopCa: () => stopProcess(ca),
    startCa,
    async stop() {
      agent.destroy();
      await Promise.all([stopProcess(ca), stopProcess(dns)]);
      await fs.rm(dir, { recursive: true, force: true });
    },
  };
}

export interface AcmeDirServer {
  requests: string[];
  /** Requests waiting at the gate (`hold: true`), unanswered. */
  held(): number;
  /** Opens the gate: held requests and all later ones are answered from the folders as they are then. */
  release(): void;
  close(): Promise<void>;
}

/**
 * Serves `/.well-known/acme-challenge/<token>` from the first folder holding the file, on 127.0.0.1:`port`.
 * With `hold: true` every request waits until `release()`, like a web server that hangs: the ACME order stays
 * pending for as long as a test needs.
 */
export async function serveAcmeDirs(port: number, dirs: string[], opts: { hold?: boolean } = {}): Promise<AcmeDirServer> {
  const requests: string[] = [];
  let held = 0;
  let release = (): void => undefined;
  const gate = opts.hold ? new Promise<void>((resolve) => (release = resolve)) : Promise.resolve();
  const server = http.createServer(async (req, res) => {
    const token = /^\/\.well-known\/acme-challenge\/([A-Za-z0-9_-]+)$/.exec(req.url ?? '')?.[1];
    requests.push(req.url ?? '');
    held += 1;
    await gate;
    held -= 1;
    for (const dir of token ? dirs : []) {
      const content = await fs.readFile(path.join(dir, token!), 'utf8').catch(() => null);
      if (content !== null) {
        res.writeHead(200, { 'content-type': 'text/plain' }).end(content);
        return;
      }
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', resolve));
  return {
    requests,
    held: () => held,
    release: () => release(),
    close: () => {
      release();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
