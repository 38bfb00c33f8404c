// A server reached over SSH: `<path>/<crt_name>.key` and `.crt` written over SFTP with the same all-or-nothing
// logic as local files (fs-atomic), then an optional reload command and an optional TLS check that the endpoint
// serves the new certificate. The host key is checked against known_hosts or a pinned fingerprint before
// anything is sent. One connection per plugin instance, opened on first use and closed by close().
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, utils, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import type { ServerSpec } from '../../blueprint/types';
import { assertChallengeToken } from '../challenge';
import { PluginConfigError, PluginError, PluginIoError, describeErrno, errnoCode, fsError, messageOf } from '../errors';
import { shellQuote } from '../shell';
import { FOLDER_MODE, KEY_FILE_MODE, PUBLIC_FILE_MODE, assertFileName, deployFilesOnce, writeFileAtomic, type AtomicFileOps } from '../fs-atomic';
import {
  fingerprint,
  hostKeyAlgorithms,
  judgeHostKey,
  keyType,
  knownHostsName,
  knownKeysFor,
  normaliseFingerprint,
  type KnownKey,
} from '../ssh-host-key';
import { formatEndpoint, parseEndpoint, servedCertificate, type Endpoint } from '../tls-probe';
import { joinPem } from '../../x509';
import type { DeployPair, PluginContext, ServerFactory, ServerPlugin } from '../types';

export const createSshServer: ServerFactory = (spec, ctx) => new SshServer(spec, ctx);

const DEFAULT_CONNECT_TIMEOUT_S = 15;
/** A dead peer is noticed after about three missed keepalives instead of hanging an operation forever. */
const KEEPALIVE_MS = 5_000;
/** A reload command that has not finished by then is taken as hung. */
const RELOAD_TIMEOUT_MS = 120_000;
/** How long the verify endpoint may take to pick up the new certificate (nginx reloads asynchronously). */
const VERIFY_WINDOW_MS = 15_000;
const VERIFY_INTERVAL_MS = 500;
/** Output kept from the reload command: the end, where the error usually is. */
const OUTPUT_TAIL = 2_000;

/** SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks). */
const SFTP_STATUS: Record<number, string> = {
  1: 'SSH_FX_EOF',
  2: 'SSH_FX_NO_SUCH_FILE',
  3: 'SSH_FX_PERMISSION_DENIED',
  4: 'SSH_FX_FAILURE',
  5: 'SSH_FX_BAD_MESSAGE',
  6: 'SSH_FX_NO_CONNECTION',
  7: 'SSH_FX_CONNECTION_LOST',
  8: 'SSH_FX_OP_UNSUPPORTED',
};
const NO_SUCH_FILE = 2;
const OP_UNSUPPORTED = 8;

const sftpStatus = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

/** Node-style callback API → promise; ssh2 also throws synchronously (unsupported extension, bad arguments). */
function call<T = void>(start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err);
    }
  });
}

/** An OpenSSH SFTP extension call; a server without it answers like any unsupported operation. */
function extension<T = void>(name: string, start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return call(start).catch((err: unknown) => {
    if (err instanceof Error && /does not support this extended request/.test(err.message)) {
      throw Object.assign(new Error(`the SFTP server lacks the ${name} extension`), { code: OP_UNSUPPORTED });
    }
    throw err;
  });
}

const tail = (text: string): string => (text.length > OUTPUT_TAIL ? `…${text.slice(-OUTPUT_TAIL)}` : text).trim();
const expandHome = (file: string): string => (file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file);

interface Ownership {
  owner?: string;
  group?: string;
}

interface Session {
  client: Client;
  sftp: SFTPWrapper;
}

/** Parameters as validated at construction. */
interface Settings {
  host: string;
  port: number;
  username?: string;
  privateKeyFile?: string;
  knownHostsFile: string;
  pinnedFingerprint?: string;
  acceptUnknownHostKey: boolean;
  connectTimeoutMs: number;
  folder: string;
  acmeDir?: string;
  keyMode: number;
  certMode: number;
  ownership: Ownership;
  reloadCommand?: string;
  verify?: Endpoint;
  verifyServername?: string;
}

class SshServer implements ServerPlugin {
  private readonly subject: string;
  private readonly settings: Settings;
  private session: Promise<Session> | undefined;
  private client: Client | undefined;

  constructor(
    readonly spec: ServerSpec,
    private readonly ctx: PluginContext,
  ) {
    const p = spec.parameters;
    const host = typeof p.host === 'string' && p.host !== '' ? p.host : spec.host;
    const port = typeof p.port === 'number' ? p.port : 22;
    const folder = typeof p.path === 'string' ? p.path : '';
    const user = typeof p.username === 'string' ? `${p.username}@` : '';
    this.subject = `ssh:${user}${host ?? '?'}:${port}:${folder || '?'}`;
    const bad = (detail: string): never => {
      throw new PluginConfigError(this.subject, detail);
    };
    if (!host) bad("the SSH server needs a 'host'");
    if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`port ${port} is not a TCP port`);
    if (folder === '') bad("the SSH server needs a 'path'");
    assertFileName(spec.crtName, 'crt_name', this.subject);

    const pinned = typeof p.host_key_fingerprint === 'string' ? normaliseFingerprint(p.host_key_fingerprint) : undefined;
    if (typeof p.host_key_fingerprint === 'string' && !pinned) {
      bad("host_key_fingerprint must be OpenSSH's SHA256 form, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s (ssh-keygen -lf)");
    }
    const timeout = typeof p.connect_timeout === 'number' ? p.connect_timeout : DEFAULT_CONNECT_TIMEOUT_S;
    if (timeout <= 0) bad('connect_timeout must be a positive number of seconds');
    const verify = typeof p.verify === 'string' ? parseEndpoint(p.verify) : undefined;
    if (typeof p.verify === 'string' && !verify) bad(`verify '${p.verify}' must be host:port (or [IPv6]:port)`);
    const keyMode = this.mode(p.key_mode, 'key_mode', KEY_FILE_MODE);
    // A private key readable by every account on the machine is a leak, whatever the blueprint asks.
    if (keyMode & 0o007) bad(`key_mode ${keyMode.toString(8).padStart(4, '0')} would let every user on the server read the private key`);
    const ownership: Ownership = {};
    for (const which of ['owner', 'group'] as const) {
      const value = p[which];
      if (typeof value !== 'string') continue;
      if (!/^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/.test(value)) bad(`${which} '${value}' must be a numeric id or a user/group name`);
      ownership[which] = value;
    }

    this.settings = {
      host: host!,
      port,
      ...(typeof p.username === 'string' && { username: p.username }),
      ...(typeof p.private_key_file === 'string' && { privateKeyFile: expandHome(p.private_key_file) }),
      knownHostsFile: expandHome(typeof p.known_hosts_file === 'string' ? p.known_hosts_file : '~/.ssh/known_hosts'),
      ...(pinned && { pinnedFingerprint: pinned }),
      acceptUnknownHostKey: p.accept_unknown_host_key === true,
      connectTimeoutMs: timeout * 1000,
      folder,
      ...(typeof p.acme_dir === 'string' && p.acme_dir !== '' && { acmeDir: p.acme_dir }),
      keyMode,
      certMode: this.mode(p.cert_mode, 'cert_mode', PUBLIC_FILE_MODE),
      ownership,
      ...(typeof p.reload_command === 'string' && p.reload_command.trim() !== '' && { reloadCommand: p.reload_command }),
      ...(verify && { verify }),
      ...(typeof p.verify_servername === 'string' && { verifyServername: p.verify_servername }),
    };
  }

  /** An octal mode written as text ('0640'): YAML would read an unquoted 0640 as the decimal 640. */
  private mode(value: unknown, name: string, fallback: number): number {
    if (value === undefined) return fallback;
    if (typeof value !== 'string' || !/^0?[0-7]{3}$/.test(value)) {
      throw new PluginConfigError(this.subject, `${name} must be an octal mode in quotes, e.g. '0640'`);
    }
    return parseInt(value, 8);
  }

  describe(): string {
    return this.subject;
  }

  async readCurrent(): Promise<{ certificate: string; key: string | null } | null> {
    return this.run(async ({ sftp }) => {
      const certificate = await this.readIfExists(sftp, this.file('crt'));
      if (certificate === null) return null;
      return { certificate, key: await this.readIfExists(sftp, this.file('key')) };
    });
  }

  async deploy(pair: DeployPair): Promise<void> {
    const certificate = this.spec.parameters.deploy_full_chain === true ? pair.fullChain : joinPem([pair.certificate]);
    await this.run(async (session) => {
      // A retried deploy finds its files in place and only reloads and verifies again.
      await deployFilesOnce(
        this.subject,
        [
          { path: this.file('key'), content: pair.key, mode: this.settings.keyMode },
          { path: this.file('crt'), content: certificate, mode: this.settings.certMode },
        ],
        this.fileOps(session, this.settings.ownership),
      );
      if (this.settings.reloadCommand) await this.reload(session, this.settings.reloadCommand);
      if (this.settings.verify) await this.verifyServed(this.settings.verify, new X509Certificate(pair.certificate));
    });
  }

  async putChallenge(token: string, content: string): Promise<void> {
    const file = this.challengeFile(token);
    await this.run((session) => writeFileAtomic(this.subject, file, content, PUBLIC_FILE_MODE, this.fileOps(session, {})));
  }

  async removeChallenge(token: string): Promise<void> {
    const file = this.challengeFile(token);
    await this.run(async (session) => {
      const ops = this.fileOps(session, {});
      await ops.remove(file).catch((err: unknown) => {
        throw ops.classify(this.subject, `cannot remove ${file}`, err);
      });
    });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    this.session = undefined;
    if (!client) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, 1_000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }

  private file(kind: 'key' | 'crt'): string {
    return path.posix.join(this.settings.folder, `${this.spec.crtName}.${kind}`);
  }

  private challengeFile(token: string): string {
    if (!this.settings.acmeDir) {
      throw new PluginConfigError(this.subject, "HTTP-01 validation needs 'acme_dir', the folder served at /.well-known/acme-challenge/");
    }
    assertChallengeToken(token, this.subject);
    return path.posix.join(this.settings.acmeDir, token);
  }

  /**
   * Runs `fn` on the (shared) connection. Inside an activity (which heartbeats, so a cancellation reaches it) a
   * cancellation drops the connection at once, which fails whatever SFTP call or command is pending. The plugin
   * sends no heartbeat of its own: one without the activity's details would erase them (the challenge ledger).
   */
  private async run<T>(fn: (session: Session) => Promise<T>): Promise<T> {
    const activity = this.ctx.activity();
    if (!activity) return fn(await this.connect());
    const signal = activity.cancellation;
    signal.throwIfAborted();
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => {
        this.client?.destroy();
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      return await Promise.race([this.connect().then(fn), aborted]);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  private connect(): Promise<Session> {
    this.session ??= this.open().catch((err: unknown) => {
      this.session = undefined;
      throw err;
    });
    return this.session;
  }

  private async open(): Promise<Session> {
    const { host, port } = this.settings;
    const auth = await this.authentication();
    const known = this.settings.pinnedFingerprint ? undefined : await this.knownKeys();
    const algorithms = known ? hostKeyAlgorithms([...new Set(known.map((k) => k.type))]) : [];
    let refused: PluginError | undefined;
    const client = new Client();
    this.client = client;
    return new Promise<Session>((resolve, reject) => {
      let settled = false;
      const fail = (err: unknown): void => {
        if (settled) return;
        settled = true;
        client.destroy();
        reject(refused ?? this.connectionError(err, auth.methods, algorithms));
      };
      client.on('error', fail);
      client.on('close', () => {
        if (this.client === client) {
          this.client = undefined;
          this.session = undefined;
        }
        fail(new Error('the server closed the connection'));
      });
      client.on('ready', () => {
        client.sftp((err, sftp) => {
          if (err) return fail(err);
          settled = true;
          resolve({ client, sftp });
        });
      });
      try {
        client.connect({
          host,
          port,
          readyTimeout: this.settings.connectTimeoutMs,
          keepaliveInterval: KEEPALIVE_MS,
          keepaliveCountMax: 3,
          ...(algorithms.length > 0 && { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } }),
          hostVerifier: (blob: Buffer): boolean => {
            refused = this.hostKeyRefusal(blob, known);
            return refused === undefined;
          },
          ...auth.config,
        });
      } catch (err) {
        fail(err);
      }
    });
  }

  /** Why the offered host key is refused, or undefined when it is trusted. */
  private hostKeyRefusal(blob: Buffer, known: KnownKey[] | undefined): PluginConfigError | undefined {
    const name = knownHostsName(this.settings.host, this.settings.port);
    const offered = `${keyType(blob)} ${fingerprint(blob)}`;
    const { pinnedFingerprint, knownHostsFile } = this.settings;
    if (pinnedFingerprint) {
      if (fingerprint(blob) === pinnedFingerprint) return undefined;
      return new PluginConfigError(
        this.subject,
        `host key of ${name} does not match host_key_fingerprint: the server offered ${offered}, the blueprint pins ${pinnedFingerprint}`,
      );
    }
    const verdict = judgeHostKey(blob, known ?? []);
    if (verdict.trusted) return undefined;
    switch (verdict.reason) {
      case 'revoked':
        return new PluginConfigError(this.subject, `host key of ${name} (${offered}) is marked @revoked in ${knownHostsFile} line ${verdict.line}`);
      case 'mismatch':
        return new PluginConfigError(
          this.subject,
          `host key of ${name} has changed: the server offered ${offered}, ${knownHostsFile} line ${verdict.line} has ${verdict.expected}; ` +
            'the host may have been reinstalled, or someone is intercepting the connection',
        );
      case 'unknown':
        if (this.settings.acceptUnknownHostKey) return undefined;
        return new PluginConfigError(
          this.subject,
          `unknown host key for ${name}: the server offered ${offered}, which is not in ${knownHostsFile}; check it, then add it there, ` +
            'pin it with host_key_fingerprint, or set accept_unknown_host_key: true',
        );
    }
  }

  private async knownKeys(): Promise<KnownKey[]> {
    const file = this.settings.knownHostsFile;
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch (err) {
      // No file means no host is known yet: the refusal then names the file.
      if (errnoCode(err) === 'ENOENT') return [];
      throw fsError(this.subject, `cannot read known_hosts file ${file}`, err);
    }
    return knownKeysFor(text, knownHostsName(this.settings.host, this.settings.port));
  }

  /**
   * Connection options for authentication, in the order tried: a private key (blueprint parameter or SshKey
   * credential), the ssh-agent, a password (UserPassword credential). Parameters win over credential fields.
   */
  private async authentication(): Promise<{ config: Partial<ConnectConfig>; methods: string[] }> {
    const { spec, settings } = this;
    const credential = spec.credentials ? await this.ctx.credentials.resolve(spec.credentials, spec.credentialsParameters) : {};
    const username = settings.username ?? credential.username;
    if (!username) throw new PluginConfigError(this.subject, "no user to log in as: give 'username' or credentials with a username");
    const keyFile = settings.privateKeyFile ?? (credential.private_key_file ? expandHome(credential.private_key_file) : undefined);
    const config: Partial<ConnectConfig> = { username };
    const methods: string[] = [];
    if (keyFile) {
      const key = await fs.readFile(keyFile).catch((err: unknown) => {
        throw fsError(this.subject, `cannot read private_key_file ${keyFile}`, err);
      });
      const parsed = utils.parseKey(key, credential.passphrase);
      if (parsed instanceof Error) {
        const why = credential.passphrase === undefined ? ' (an encrypted key needs the passphrase of an SshKey credential)' : '';
        throw new PluginConfigError(this.subject, `private_key_file ${keyFile} is not a private key SSH can use, or the passphrase is wrong${why}`);
      }
      config.privateKey = key;
      if (credential.passphrase !== undefined) config.passphrase = credential.passphrase;
      methods.push('publickey');
    }
    if (process.env.SSH_AUTH_SOCK) {
      config.agent = process.env.SSH_AUTH_SOCK;
      methods.push('agent');
    }
    if (credential.password !== undefined) {
      config.password = credential.password;
      methods.push('password');
    }
    if (methods.length === 0) {
      throw new PluginConfigError(this.subject, 'no way to log in: give private_key_file, credentials (SshKey or UserPassword), or run an ssh-agent');
    }
    config.authHandler = methods as ConnectConfig['authHandler'];
    return { config, methods };
  }

  private connectionError(err: unknown, methods: string[], algorithms: string[]): PluginError {
    const { host, port } = this.settings;
    const where = `${host}:${port}`;
    const level = (err as { level?: unknown } | null)?.level;
    if (level === 'client-authentication') {
      return new PluginConfigError(this.subject, `the server refused the login (tried ${methods.join(', ')})`, { cause: err });
    }
    if (level === 'client-timeout') {
      return new PluginIoError(this.subject, `no SSH session with ${where} within ${this.settings.connectTimeoutMs / 1000} s`, 'ETIMEDOUT', {
        cause: err,
      });
    }
    if (algorithms.length > 0 && /host key|no matching/i.test(messageOf(err))) {
      return new PluginConfigError(
        this.subject,
        `${where} offers none of the host key types ${this.settings.knownHostsFile} lists for it (${algorithms.join(', ')})`,
        { cause: err },
      );
    }
    const code = errnoCode(err);
    const why = code && describeErrno(code);
    return new PluginIoError(this.subject, `cannot connect to ${where}: ${why ? `${why} (${code})` : (code ?? messageOf(err))}`, code, {
      cause: err,
    });
  }

  private async readIfExists(sftp: SFTPWrapper, file: string): Promise<string | null> {
    try {
      return (await call<Buffer>((cb) => sftp.readFile(file, cb))).toString('utf8');
    } catch (err) {
      if (sftpStatus(err) === NO_SUCH_FILE) return null;
      throw classify(this.subject, `cannot read ${file}`, err);
    }
  }

  /** Runs a command on the server; resolves with its exit status and output. */
  private exec({ client }: Session, command: string): Promise<{ code: number | null; signal?: string; stdout: string; stderr: string }> {
    return new Promise((resolve, reject) => {
      client.exec(command, (err, stream) => {
        if (err) return reject(new PluginIoError(this.subject, `cannot run a command: ${err.message}`, undefined, { cause: err }));
        let stdout = '';
        let stderr = '';
        let code: number | null = null;
        let signal: string | undefined;
        // Keeps a bounded tail: a chatty command must not fill the worker's memory.
        const keep = (text: string, chunk: Buffer): string => (text + chunk.toString('utf8')).slice(-4 * OUTPUT_TAIL);
        const timer = setTimeout(() => {
          stream.close();
          reject(new PluginIoError(this.subject, `command did not finish within ${RELOAD_TIMEOUT_MS / 1000} s: ${command}`, 'ETIMEDOUT'));
        }, RELOAD_TIMEOUT_MS);
        stream.on('data', (chunk: Buffer) => (stdout = keep(stdout, chunk)));
        stream.stderr.on('data', (chunk: Buffer) => (stderr = keep(stderr, chunk)));
        stream.on('exit', (exitCode: number | null, exitSignal?: string) => {
          code = exitCode;
          signal = exitSignal;
        });
        stream.on('close', () => {
          clearTimeout(timer);
          resolve({ code, ...(signal && { signal }), stdout, stderr });
        });
      });
    });
  }

  private async reload(session: Session, command: string): Promise<void> {
    const result = await this.exec(session, command);
    // The output is the operator's record of what the reload did; it is the server's, not a secret of ours.
    this.ctx.activity()?.log.info('reload_command ran', {
      server: this.subject,
      exitCode: result.code,
      ...(result.signal && { signal: result.signal }),
      stdout: tail(result.stdout),
      stderr: tail(result.stderr),
    });
    if (result.code === 0) return;
    const status = result.code === null ? `was killed by ${result.signal ?? 'a signal'}` : `exited with status ${result.code}`;
    const output = tail(result.stderr) || tail(result.stdout);
    throw new PluginIoError(this.subject, `reload_command ${status}${output ? `: ${output}` : ''}`, undefined);
  }

  /** Waits until `endpoint` serves `deployed` (it may take a moment to reload); fails with what it serves instead. */
  private async verifyServed(endpoint: Endpoint, deployed: X509Certificate): Promise<void> {
    const deadline = Date.now() + VERIFY_WINDOW_MS;
    const where = formatEndpoint(endpoint);
    for (;;) {
      let last: string;
      try {
        const served = await servedCertificate(endpoint, {
          timeoutMs: this.settings.connectTimeoutMs,
          ...(this.settings.verifyServername && { servername: this.settings.verifyServername }),
        });
        if (served.fingerprint256 === deployed.fingerprint256) return;
        last = `it serves certificate serial ${served.serialNumber}, not the deployed ${deployed.serialNumber}`;
      } catch (err) {
        last = messageOf(err);
      }
      if (Date.now() >= deadline) throw new PluginIoError(this.subject, `verify ${where}: ${last}`, undefined);
      await new Promise((r) => setTimeout(r, VERIFY_INTERVAL_MS));
    }
  }

  /** The atomic-write primitives over SFTP; files it creates get `ownership`. */
  private fileOps(session: Session, ownership: Ownership): AtomicFileOps {
    const { sftp } = session;
    const statOrNull = (p: string) =>
      call<{ isDirectory(): boolean }>((cb) => sftp.stat(p, cb)).catch((err: unknown) => {
        if (sftpStatus(err) === NO_SUCH_FILE) return null;
        throw err;
      });
    const mkdirp = async (dir: string): Promise<void> => {
      const found = await statOrNull(dir);
      if (found) {
        if (!found.isDirectory()) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
        return;
      }
      const parent = path.posix.dirname(dir);
      if (parent !== dir) await mkdirp(parent);
      await call((cb) => sftp.mkdir(dir, { mode: FOLDER_MODE }, cb)).catch(async (err: unknown) => {
        // Another deploy may have created it meanwhile.
        if (!(await statOrNull(dir))?.isDirectory()) throw err;
      });
      // The server's umask may have narrowed it, and the web server must be able to traverse acme_dir.
      await call((cb) => sftp.chmod(dir, FOLDER_MODE, cb));
    };
    return {
      path: path.posix,
      mkdirp,
      writeNew: async (file, content, mode) => {
        const handle = await call<Buffer>((cb) => sftp.open(file, 'wx', { mode }, cb));
        try {
          await call((cb) => sftp.fchmod(handle, mode, cb));
          const data = Buffer.from(content, 'utf8');
          await call((cb) => sftp.write(handle, data, 0, data.length, 0, cb));
          await this.applyOwnership(session, handle, file, ownership);
          await extension('fsync@openssh.com', (cb) => sftp.ext_openssh_fsync(handle, cb)).catch((err: unknown) => {
            // Durability is best effort on servers without the extension; the rename is still atomic.
            if (sftpStatus(err) !== OP_UNSUPPORTED) throw err;
          });
        } catch (err) {
          await call((cb) => sftp.close(handle, cb)).catch(() => undefined);
          throw err;
        }
        await call((cb) => sftp.close(handle, cb));
      },
      linkIfExists: async (existing, alias) => {
        const found = await call<{ isDirectory(): boolean }>((cb) => sftp.lstat(existing, cb)).catch((err: unknown) => {
          if (sftpStatus(err) === NO_SUCH_FILE) return null;
          throw err;
        });
        if (!found) return false;
        if (found.isDirectory()) throw Object.assign(new Error(`${existing} is a folder`), { code: 'EISDIR' });
        await extension('hardlink@openssh.com', (cb) => sftp.ext_openssh_hardlink(existing, alias, cb));
        return true;
      },
      // Plain SFTP rename refuses to replace an existing file; the POSIX one replaces it in one step.
      rename: (from, to) => extension('posix-rename@openssh.com', (cb) => sftp.ext_openssh_rename(from, to, cb)),
      remove: (file) =>
        call((cb) => sftp.unlink(file, cb)).catch((err: unknown) => {
          if (sftpStatus(err) !== NO_SUCH_FILE) throw err;
        }),
      // SFTP cannot sync a folder directly, but OpenSSH's server opens one like a file and fsyncs that
      // descriptor. Best effort: the renames are done and visible, a server that cannot is no reason to fail.
      syncDir: async (dir) => {
        const handle = await call<Buffer>((cb) => sftp.open(dir, 'r', cb)).catch(() => null);
        if (!handle) return;
        await extension('fsync@openssh.com', (cb) => sftp.ext_openssh_fsync(handle, cb)).catch(() => undefined);
        await call((cb) => sftp.close(handle, cb)).catch(() => undefined);
      },
      holds: async (file, content, mode) => {
        const stat = await call<{ mode: number }>((cb) => sftp.stat(file, cb)).catch(() => null);
        if (stat === null || (stat.mode & 0o7777) !== mode) return false;
        return (await this.readIfExists(sftp, file)) === content;
      },
      classify,
    };
  }

  /** Numeric ids are set over SFTP; names need the server's own `chown`, which knows its user database. */
  private async applyOwnership(session: Session, handle: Buffer, file: string, { owner, group }: Ownership): Promise<void> {
    if (owner === undefined && group === undefined) return;
    const numeric = (v: string | undefined) => v === undefined || /^\d+$/.test(v);
    if (numeric(owner) && numeric(group)) {
      // SFTP sets uid and gid together: keep the current one of the two that is not given.
      const current = await call<{ uid: number; gid: number }>((cb) => session.sftp.fstat(handle, cb));
      const uid = owner === undefined ? current.uid : Number(owner);
      const gid = group === undefined ? current.gid : Number(group);
      await call((cb) => session.sftp.fchown(handle, uid, gid, cb));
      return;
    }
    const spec = `${owner ?? ''}${group === undefined ? '' : `:${group}`}`;
    const result = await this.exec(session, `chown ${shellQuote(spec)} ${shellQuote(file)}`);
    if (result.code !== 0) {
      throw new PluginIoError(this.subject, `chown ${spec} ${file} failed: ${tail(result.stderr) || `status ${result.code}`}`, undefined);
    }
  }
}

/** SFTP status codes → typed plugin errors; errno-style codes (ours, or the socket's) as for local files. */
function classify(subject: string, action: string, err: unknown): PluginError {
  if (err instanceof PluginError) return err;
  const status = sftpStatus(err);
  if (status === undefined) return fsError(subject, action, err);
  const name = SFTP_STATUS[status] ?? `SSH_FX_${status}`;
  if (status === OP_UNSUPPORTED) return new PluginConfigError(subject, `${action}: ${messageOf(err)} (${name})`, { cause: err });
  return new PluginIoError(subject, `${action} (${name})`, name, { cause: err });
}
