// A real nginx for integration tests: the Debian binary in the foreground with its own prefix, config, pid file
// and temp folders in a temporary folder, serving TLS on a free loopback port with the key and certificate files
// a deploy writes. Until the first deploy it serves a throw-away self-signed certificate.
//
//   const nginx = await startNginx({ certificateFile: `${dir}/site.crt`, keyFile: `${dir}/site.key` });
//   nginx.reloadCommand                    // a shell command that reloads it (a server's reload_command)
//   await servedCertificate({ host: '127.0.0.1', port: nginx.port }, { timeoutMs })   // src/plugins/tls-probe
//   await nginx.stop();
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { servedCertificate } from '../../src/plugins/tls-probe';
import { createSelfSignedCa, generatePrivateKey } from '../../src/x509';
import { freePort } from '../../src/worker/dev-server';
import { systemBinary } from './system-binary';

export interface TestNginx {
  port: number;
  /** `nginx -p <prefix> -c <conf> -s reload`, paths quoted for a POSIX shell. */
  reloadCommand: string;
  /** Everything nginx wrote to stderr (its error log) so far. */
  log(): string;
  stop(): Promise<void>;
}

const STARTUP_TIMEOUT_MS = 10_000;

const shellQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export async function startNginx(opts: { certificateFile: string; keyFile: string }): Promise<TestNginx> {
  const prefix = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-nginx-'));
  let child: ChildProcess | undefined;
  try {
    const binary = await systemBinary('nginx', 'nginx');
    const port = await freePort();
    if (
      !(await fs.access(opts.certificateFile).then(
        () => true,
        () => false,
      ))
    ) {
      const keyPem = await generatePrivateKey({ type: 'ec', curve: 'P-256' });
      await fs.mkdir(path.dirname(opts.certificateFile), { recursive: true });
      await fs.writeFile(opts.keyFile, keyPem, { mode: 0o600 });
      await fs.writeFile(opts.certificateFile, await createSelfSignedCa({ keyPem, commonName: 'nginx placeholder', validityDays: 1 }));
    }
    const conf = path.join(prefix, 'nginx.conf');
    const inPrefix = (name: string) => path.join(prefix, name);
    await fs.writeFile(
      conf,
      [
        'daemon off;',
        'worker_processes 1;',
        `pid ${inPrefix('nginx.pid')};`,
        'error_log stderr notice;',
        'events { worker_connections 64; }',
        'http {',
        '  access_log off;',
        // The compiled-in temp folders are the system's; these keep the test inside its prefix.
        ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${inPrefix(t)};`),
        '  server {',
        `    listen 127.0.0.1:${port} ssl;`,
        `    ssl_certificate ${opts.certificateFile};`,
        `    ssl_certificate_key ${opts.keyFile};`,
        '    location / { return 200 "ok\\n"; }',
        '  }',
        '}',
        '',
      ].join('\n'),
    );
    const args = ['-p', prefix, '-c', conf];
    let stderr = '';
    const proc = spawn(binary, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    child = proc;
    proc.stderr!.setEncoding('utf8').on('data', (text: string) => {
      stderr += text;
    });
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    for (;;) {
      const up = await servedCertificate({ host: '127.0.0.1', port }, { timeoutMs: 2_000 }).then(
        () => true,
        () => false,
      );
      if (up) break;
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error(`nginx did not serve TLS on port ${port}:\n${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return {
      port,
      reloadCommand: [binary, ...args, '-s', 'reload'].map(shellQuote).join(' '),
      log: () => stderr,
      async stop() {
        if (proc.exitCode === null) {
          proc.kill('SIGQUIT');
          await exited;
        }
        await fs.rm(prefix, { recursive: true, force: true });
      },
    };
  } catch (err) {
    child?.kill('SIGKILL');
    await fs.rm(prefix, { recursive: true, force: true });
    throw err;
  }
}
