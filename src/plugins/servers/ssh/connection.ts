// The SSH session: authentication (key file, SshKey or UserPassword credential, agent), the host key checked
// against known_hosts or a pinned fingerprint before anything is sent, and connection failures as typed errors.
import { promises as fs } from 'node:fs';
import { Client, utils, type ConnectConfig } from 'ssh2';
import type { ServerSpec } from '../../../blueprint/types';
import { PluginConfigError, PluginError, PluginIoError, describeErrno, errnoCode, fsError, messageOf } from '../../errors';
import { fingerprint, hostKeyAlgorithms, judgeHostKey, keyType, knownHostsName, knownKeysFor, type KnownKey } from '../../ssh-host-key';
import type { PluginContext } from '../../types';
import { expandHome, type Settings } from './settings';
import type { Session } from './sftp';

/** A dead peer is noticed after about three missed keepalives instead of hanging an operation forever. */
const KEEPALIVE_MS = 5_000;

/** The server to reach and what it is reached with. */
export interface SshTarget {
  subject: string;
  settings: Settings;
  spec: ServerSpec;
  ctx: PluginContext;
}

/** Told of the client of a session, so that a cancellation can drop it and a closed one is not reused. */
export interface ClientTracker {
  opened(client: Client): void;
  closed(client: Client): void;
}

export async function openSession(target: SshTarget, track: ClientTracker): Promise<Session> {
  const { settings } = target;
  const { host, port } = settings;
  const auth = await authentication(target);
  const known = settings.pinnedFingerprint ? undefined : await knownKeys(target);
  const algorithms = known ? hostKeyAlgorithms([...new Set(known.map((k) => k.type))]) : [];
  let refused: PluginError | undefined;
  const client = new Client();
  track.opened(client);
  return new Promise<Session>((resolve, reject) => {
    let settled = false;
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      client.destroy();
      reject(refused ?? connectionError(target, err, auth.methods, algorithms));
    };
    client.on('error', fail);
    client.on('close', () => {
      track.closed(client);
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
        readyTimeout: settings.connectTimeoutMs,
        keepaliveInterval: KEEPALIVE_MS,
        keepaliveCountMax: 3,
        ...(algorithms.length > 0 && { algorithms: { serverHostKey: algorithms as NonNullable<ConnectConfig['algorithms']>['serverHostKey'] } }),
        hostVerifier: (blob: Buffer): boolean => {
          refused = hostKeyRefusal(target, blob, known);
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
function hostKeyRefusal({ subject, settings }: SshTarget, blob: Buffer, known: KnownKey[] | undefined): PluginConfigError | undefined {
  const name = knownHostsName(settings.host, settings.port);
  const offered = `${keyType(blob)} ${fingerprint(blob)}`;
  const { pinnedFingerprint, knownHostsFile } = settings;
  if (pinnedFingerprint) {
    if (fingerprint(blob) === pinnedFingerprint) return undefined;
    return new PluginConfigError(
      subject,
      `host key of ${name} does not match host_key_fingerprint: the server offered ${offered}, the blueprint pins ${pinnedFingerprint}`,
    );
  }
  const verdict = judgeHostKey(blob, known ?? []);
  if (verdict.trusted) return undefined;
  switch (verdict.reason) {
    case 'revoked':
      return new PluginConfigError(subject, `host key of ${name} (${offered}) is marked @revoked in ${knownHostsFile} line ${verdict.line}`);
    case 'mismatch':
      return new PluginConfigError(
        subject,
        `host key of ${name} has changed: the server offered ${offered}, ${knownHostsFile} line ${verdict.line} has ${verdict.expected}; ` +
          'the host may have been reinstalled, or someone is intercepting the connection',
      );
    case 'unknown':
      if (settings.acceptUnknownHostKey) return undefined;
      return new PluginConfigError(
        subject,
        `unknown host key for ${name}: the server offered ${offered}, which is not in ${knownHostsFile}; check it, then add it there, ` +
          'pin it with host_key_fingerprint, or set accept_unknown_host_key: true',
      );
  }
}

async function knownKeys({ subject, settings }: SshTarget): Promise<KnownKey[]> {
  const file = settings.knownHostsFile;
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    // No file means no host is known yet: the refusal then names the file.
    if (errnoCode(err) === 'ENOENT') return [];
    throw fsError(subject, `cannot read known_hosts file ${file}`, err);
  }
  return knownKeysFor(text, knownHostsName(settings.host, settings.port));
}

/**
 * Connection options for authentication, in the order tried: a private key (blueprint parameter or SshKey
 * credential), the ssh-agent, a password (UserPassword credential). Parameters win over credential fields.
 */
async function authentication({ subject, settings, spec, ctx }: SshTarget): Promise<{ config: Partial<ConnectConfig>; methods: string[] }> {
  const credential = spec.credentials ? await ctx.credentials.resolve(spec.credentials, spec.credentialsParameters) : {};
  const username = settings.username ?? credential.username;
  if (!username) throw new PluginConfigError(subject, "no user to log in as: give 'username' or credentials with a username");
  const keyFile = settings.privateKeyFile ?? (credential.private_key_file ? expandHome(credential.private_key_file) : undefined);
  const config: Partial<ConnectConfig> = { username };
  const methods: string[] = [];
  if (keyFile) {
    const key = await fs.readFile(keyFile).catch((err: unknown) => {
      throw fsError(subject, `cannot read private_key_file ${keyFile}`, err);
    });
    const parsed = utils.parseKey(key, credential.passphrase);
    if (parsed instanceof Error) {
      const why = credential.passphrase === undefined ? ' (an encrypted key needs the passphrase of an SshKey credential)' : '';
      throw new PluginConfigError(subject, `private_key_file ${keyFile} is not a private key SSH can use, or the passphrase is wrong${why}`);
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
    throw new PluginConfigError(subject, 'no way to log in: give private_key_file, credentials (SshKey or UserPassword), or run an ssh-agent');
  }
  config.authHandler = methods as ConnectConfig['authHandler'];
  return { config, methods };
}

function connectionError({ subject, settings }: SshTarget, err: unknown, methods: string[], algorithms: string[]): PluginError {
  const { host, port } = settings;
  const where = `${host}:${port}`;
  const level = (err as { level?: unknown } | null)?.level;
  if (level === 'client-authentication') {
    return new PluginConfigError(subject, `the server refused the login (tried ${methods.join(', ')})`, { cause: err });
  }
  if (level === 'client-timeout') {
    return new PluginIoError(subject, `no SSH session with ${where} within ${settings.connectTimeoutMs / 1000} s`, 'ETIMEDOUT', {
      cause: err,
    });
  }
  if (algorithms.length > 0 && /host key|no matching/i.test(messageOf(err))) {
    return new PluginConfigError(
      subject,
      `${where} offers none of the host key types ${settings.knownHostsFile} lists for it (${algorithms.join(', ')})`,
      { cause: err },
    );
  }
  const code = errnoCode(err);
  const why = code && describeErrno(code);
  return new PluginIoError(subject, `cannot connect to ${where}: ${why ? `${why} (${code})` : (code ?? messageOf(err))}`, code, {
    cause: err,
  });
}
