import { parseEndpoint } from '../../tls-probe';
import { normaliseFingerprint } from '../../ssh-host-key';
import { definePlugin } from '../../types';
import { SERVER_PARAMETERS } from '../common';

/** An octal mode written as text ('0640'): YAML would read an unquoted 0640 as the decimal 640. */
const octalMode = (v: unknown): string | undefined => (/^0?[0-7]{3}$/.test(String(v)) ? undefined : "must be an octal mode in quotes, e.g. '0640'");

export default definePlugin({
  category: 'server',
  name: 'ssh',
  aliases: ['autossl.server.ssh.SshServer'],
  description: 'Files on a remote machine over SSH (SFTP), then an optional reload command and TLS check.',
  credentials: { types: ['SshKey', 'UserPassword'] },
  parameters: {
    ...SERVER_PARAMETERS,
    host: { type: 'string', required: true, description: "Host name or address of the SSH server (or the server's own 'host')." },
    port: { type: 'integer', default: 22, minimum: 1, maximum: 65535, description: 'SSH port.' },
    username: { type: 'string', description: 'User to log in as; else the username of the credentials.' },
    private_key_file: {
      type: 'string',
      expandEnv: true,
      description: 'Private key to log in with; else an SshKey credential, the ssh-agent or a password.',
    },
    known_hosts_file: { type: 'string', default: '~/.ssh/known_hosts', expandEnv: true, description: 'known_hosts file listing the host key.' },
    host_key_fingerprint: {
      type: 'string',
      description: "The host key's fingerprint, SHA256:... as ssh-keygen -l prints it; replaces known_hosts.",
      check: (v) => (normaliseFingerprint(String(v)) ? undefined : 'must be a SHA256:... fingerprint as ssh-keygen -l prints it'),
    },
    accept_unknown_host_key: {
      type: 'boolean',
      default: false,
      description: 'Connect to a host whose key is in no known_hosts file (a changed key is still refused).',
    },
    connect_timeout: { type: 'integer', default: 15, minimum: 1, description: 'Seconds to establish the SSH session.' },
    path: { type: 'string', required: true, expandEnv: true, description: 'Folder on the server receiving <crt_name>.key and <crt_name>.crt.' },
    acme_dir: { type: 'string', expandEnv: true, description: 'Folder on the server served at /.well-known/acme-challenge/ for HTTP-01.' },
    key_mode: { type: 'string', default: '0600', check: octalMode, description: 'Octal mode of the key file, in quotes (never readable by others).' },
    cert_mode: { type: 'string', default: '0644', check: octalMode, description: 'Octal mode of the certificate file, in quotes.' },
    owner: { type: 'string', description: 'Owner of the deployed files: a numeric uid or a user name.' },
    group: { type: 'string', description: 'Group of the deployed files: a numeric gid or a group name.' },
    reload_command: { type: 'string', description: 'Command run on the server after a deploy, e.g. "nginx -s reload"; must exit 0.' },
    verify: {
      type: 'string',
      description: 'host:port whose TLS handshake must serve the new certificate after the deploy.',
      check: (v) => (parseEndpoint(String(v)) ? undefined : 'must be host:port (or [IPv6]:port)'),
    },
    verify_servername: { type: 'string', description: 'SNI name sent to verify (default its host, unless an IP address).' },
  },
  load: () => (require('.') as typeof import('.')).createSshServer,
});
