// The server's parameters, read once when the plugin is opened.
import os from 'node:os';
import path from 'node:path';
import type { ServerSpec } from '../../../blueprint/types';
import { PluginConfigError } from '../../errors';
import { KEY_FILE_MODE, PUBLIC_FILE_MODE, assertFileName } from '../../fs-atomic';
import { normaliseFingerprint } from '../../ssh-host-key';
import { parseEndpoint, type Endpoint } from '../../tls-probe';
import type { Ownership } from './sftp';

const DEFAULT_CONNECT_TIMEOUT_S = 15;

export const expandHome = (file: string): string => (file === '~' || file.startsWith('~/') ? path.join(os.homedir(), file.slice(1)) : file);

/** Parameters as validated when the plugin is opened. */
export interface Settings {
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

/**
 * The settings of `spec` and the server's name in messages. The loader checks the parameters against the spec
 * already; these checks hold for specs built in code too, and add what a type cannot say (a world-readable key).
 */
export function readSettings(spec: ServerSpec): { subject: string; settings: Settings } {
  const p = spec.parameters;
  const host = typeof p.host === 'string' && p.host !== '' ? p.host : spec.host;
  const port = typeof p.port === 'number' ? p.port : 22;
  const folder = typeof p.path === 'string' ? p.path : '';
  const user = typeof p.username === 'string' ? `${p.username}@` : '';
  const subject = `ssh:${user}${host ?? '?'}:${port}:${folder || '?'}`;
  const bad = (detail: string): never => {
    throw new PluginConfigError(subject, detail);
  };
  if (!host) bad("the SSH server needs a 'host'");
  if (!Number.isInteger(port) || port < 1 || port > 65535) bad(`port ${port} is not a TCP port`);
  if (folder === '') bad("the SSH server needs a 'path'");
  assertFileName(spec.crtName, 'crt_name', subject);

  const pinned = typeof p.host_key_fingerprint === 'string' ? normaliseFingerprint(p.host_key_fingerprint) : undefined;
  if (typeof p.host_key_fingerprint === 'string' && !pinned) {
    bad("host_key_fingerprint must be OpenSSH's SHA256 form, e.g. SHA256:uNiVztksCsDhcc0u9e8BujQXVUpKZIDTMczCvj3tD2s (ssh-keygen -lf)");
  }
  const timeout = typeof p.connect_timeout === 'number' ? p.connect_timeout : DEFAULT_CONNECT_TIMEOUT_S;
  if (timeout <= 0) bad('connect_timeout must be a positive number of seconds');
  const verify = typeof p.verify === 'string' ? parseEndpoint(p.verify) : undefined;
  if (typeof p.verify === 'string' && !verify) bad(`verify '${p.verify}' must be host:port (or [IPv6]:port)`);
  const keyMode = mode(subject, p.key_mode, 'key_mode', KEY_FILE_MODE);
  // A private key readable by every account on the machine is a leak, whatever the blueprint asks.
  if (keyMode & 0o007) bad(`key_mode ${keyMode.toString(8).padStart(4, '0')} would let every user on the server read the private key`);
  const ownership: Ownership = {};
  for (const which of ['owner', 'group'] as const) {
    const value = p[which];
    if (typeof value !== 'string') continue;
    if (!/^(?:\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/.test(value)) bad(`${which} '${value}' must be a numeric id or a user/group name`);
    ownership[which] = value;
  }

  const settings: Settings = {
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
    certMode: mode(subject, p.cert_mode, 'cert_mode', PUBLIC_FILE_MODE),
    ownership,
    ...(typeof p.reload_command === 'string' && p.reload_command.trim() !== '' && { reloadCommand: p.reload_command }),
    ...(verify && { verify }),
    ...(typeof p.verify_servername === 'string' && { verifyServername: p.verify_servername }),
  };
  return { subject, settings };
}

/** An octal mode written as text ('0640'): YAML would read an unquoted 0640 as the decimal 640. */
function mode(subject: string, value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !/^0?[0-7]{3}$/.test(value)) {
    throw new PluginConfigError(subject, `${name} must be an octal mode in quotes, e.g. '0640'`);
  }
  return parseInt(value, 8);
}
