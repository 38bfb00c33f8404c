// Maps a blueprint `type` (short name or AutoSSL class path) to a plugin. The catalogue is pure data so the
// blueprint loader can validate types and parameters without loading any plugin code; each plugin module is
// required only when first used, which keeps `check` light.
import { isModuleReference, loadModulePlugin } from './modules';
import type { CaFactory, RenewalInfo, ServerFactory, StorageFactory, TrackingFactory } from './types';

export type PluginCategory = 'server' | 'storage' | 'tracking' | 'ca';

export type ParameterType = 'string' | 'boolean' | 'integer' | 'string[]';

export interface ParameterSpec {
  type: ParameterType;
  required?: boolean;
  /** `$VAR` and `${VAR}` in the value are replaced from the environment at load time (as AutoSSL does for paths). */
  expandEnv?: boolean;
  /** Another name of the parameter `aliasOf` (AutoSSL's): its value is that parameter's. */
  aliasOf?: string;
  description: string;
}

export interface CatalogEntry {
  category: PluginCategory;
  /** Canonical short name. */
  name: string;
  /** Other names accepted for `type`, AutoSSL class paths first. */
  aliases: string[];
  description: string;
  parameters: Record<string, ParameterSpec>;
  /** CA kinds that keep files in a storage, what they keep: the CA's `storage`, else the blueprint's, must exist. */
  caStorage?: { holds: string; named?: boolean };
  /** What a CA kind can do, so that callers never test its name. */
  capabilities?: {
    /** A person orders and delivers the certificate: the renewal waits for them after the key and CSR are made. */
    awaitsPerson?: boolean;
    /** Loads the CA's renewal-window lookup (ACME ARI), called at every inspection of a stored certificate. */
    renewalInfo?: () => RenewalInfo;
  };
  /** Loads the implementation. */
  load: () => ServerFactory | StorageFactory | CaFactory | TrackingFactory;
}

const serverCommon: Record<string, ParameterSpec> = {
  host: { type: 'string', description: 'Host name of the server (also the placeholder key for global server maps).' },
  crt_name: { type: 'string', description: 'File stem of the deployed key and certificate; defaults to the blueprint name.' },
  deploy_full_chain: { type: 'boolean', description: 'Append the chain of trust to the deployed certificate file.' },
};

export const CATALOG: readonly CatalogEntry[] = [
  {
    category: 'server',
    name: 'local',
    aliases: ['autossl.server.local.LocalServer'],
    description: 'Files on the machine running the worker.',
    parameters: {
      ...serverCommon,
      path: { type: 'string', required: true, expandEnv: true, description: 'Folder receiving <crt_name>.key and <crt_name>.crt.' },
      acme_dir: { type: 'string', expandEnv: true, description: 'Folder served at /.well-known/acme-challenge/ for HTTP-01.' },
    },
    load: () => require('./servers/local').createLocalServer as ServerFactory,
  },
  {
    category: 'server',
    name: 'ssh',
    aliases: ['autossl.server.ssh.SshServer'],
    description: 'Files on a remote machine over SSH (SFTP), then an optional reload command and TLS check.',
    parameters: {
      ...serverCommon,
      host: { type: 'string', required: true, description: "Host name or address of the SSH server (or the server's own 'host')." },
      port: { type: 'integer', description: 'SSH port (default 22).' },
      username: { type: 'string', description: 'User to log in as; else the username of the credentials.' },
      private_key_file: { type: 'string', expandEnv: true, description: 'Private key to log in with; else an SshKey credential, the ssh-agent or a password.' },
      known_hosts_file: { type: 'string', expandEnv: true, description: 'known_hosts file listing the host key (default ~/.ssh/known_hosts).' },
      host_key_fingerprint: { type: 'string', description: "The host key's fingerprint, SHA256:... as ssh-keygen -l prints it; replaces known_hosts." },
      accept_unknown_host_key: { type: 'boolean', description: 'Connect to a host whose key is in no known_hosts file (a changed key is still refused).' },
      connect_timeout: { type: 'integer', description: 'Seconds to establish the SSH session (default 15).' },
      path: { type: 'string', required: true, expandEnv: true, description: 'Folder on the server receiving <crt_name>.key and <crt_name>.crt.' },
      acme_dir: { type: 'string', expandEnv: true, description: 'Folder on the server served at /.well-known/acme-challenge/ for HTTP-01.' },
      key_mode: { type: 'string', description: "Octal mode of the key file, in quotes (default '0600'; never readable by others)." },
      cert_mode: { type: 'string', description: "Octal mode of the certificate file, in quotes (default '0644')." },
      owner: { type: 'string', description: 'Owner of the deployed files: a numeric uid or a user name.' },
      group: { type: 'string', description: 'Group of the deployed files: a numeric gid or a group name.' },
      reload_command: { type: 'string', description: 'Command run on the server after a deploy, e.g. "nginx -s reload"; must exit 0.' },
      verify: { type: 'string', description: 'host:port whose TLS handshake must serve the new certificate after the deploy.' },
      verify_servername: { type: 'string', description: 'SNI name sent to verify (default its host, unless an IP address).' },
    },
    load: () => require('./servers/ssh').createSshServer as ServerFactory,
  },
  {
    category: 'server',
    name: 'incapsula',
    aliases: ['autossl.server.incapsula.IncapsulaSite'],
    description: "An Incapsula (Imperva Cloud WAF) site's custom certificate, through Imperva's API (credentials: ApiKeyAndId). Serves no HTTP-01 files.",
    parameters: {
      ...serverCommon,
      deploy_full_chain: { type: 'boolean', description: 'Ignored: Incapsula always gets the full chain (leaf, intermediates, root).' },
      site_id: { type: 'integer', required: true, description: 'Numeric id of the site in Incapsula.' },
      base_url: { type: 'string', description: "Imperva's API endpoint (default https://my.incapsula.com)." },
      ca_bundle: { type: 'string', expandEnv: true, description: "PEM file of the certificates the API endpoint's TLS certificate chains to (a private endpoint)." },
    },
    load: () => require('./servers/incapsula').createIncapsulaSite as ServerFactory,
  },
  {
    category: 'storage',
    name: 'local',
    aliases: ['autossl.storage.local.LocalFileStorage'],
    description: 'Artifacts as files in a local folder.',
    parameters: {
      path: { type: 'string', required: true, expandEnv: true, description: 'Folder holding <name>.key, .csr, .crt, .yaml.' },
    },
    load: () => require('./storage/local').createLocalStorage as StorageFactory,
  },
  {
    category: 'storage',
    name: 'git',
    aliases: ['autossl.storage.gitscm.GitStorage'],
    description: 'Artifacts as files in a git repository, a commit per change (credentials: UserPassword for https, SshKey for ssh).',
    parameters: {
      git_url: { type: 'string', required: true, expandEnv: true, description: 'Repository URL: https://, ssh:// (or user@host:path) or file://; never with a password in it.' },
      folder: { type: 'string', description: 'Folder inside the repository holding <name>.key, .csr, .crt, .yaml (default its root).' },
      branch: { type: 'string', description: "Branch to commit to (default the remote's default branch, else main)." },
      committer_name: { type: 'string', description: 'Author and committer name of the commits (default autossl).' },
      committer_email: { type: 'string', description: 'Author and committer email of the commits (default autossl@localhost).' },
      config_user_name: { type: 'string', aliasOf: 'committer_name', description: "AutoSSL's name of committer_name (git config user.name)." },
      config_user_email: { type: 'string', aliasOf: 'committer_email', description: "AutoSSL's name of committer_email (git config user.email)." },
      private_key_file: { type: 'string', expandEnv: true, description: "ssh: private key file to log in with; else the SshKey credential's." },
      known_hosts_file: { type: 'string', expandEnv: true, description: "ssh: known_hosts file the server's host key is checked against (default the user's)." },
      accept_unknown_host_key: {
        type: 'boolean',
        description: "ssh: trust a host whose key is in no known_hosts file and record it there (a changed key is still refused); as the ssh server's.",
      },
    },
    load: () => require('./storage/git').createGitStorage as StorageFactory,
  },
  {
    category: 'tracking',
    name: 'local',
    aliases: ['autossl.tracking.local.LocalFileTracking'],
    description: 'A JSON-lines log per certificate, fed from the workflow history.',
    parameters: {
      log_folder: { type: 'string', required: true, expandEnv: true, description: 'Folder receiving <name>.log.' },
    },
    load: () => require('./tracking/local').createLocalTracking as TrackingFactory,
  },
  {
    category: 'ca',
    name: 'acme',
    aliases: ['autossl.ca_manager.acme_v2_http01.AcmeHttp01'],
    description: "An ACME CA (Let's Encrypt, a private ACME server): account key in the CA storage under storage.name.",
    caStorage: { holds: 'the ACME account key', named: true },
    parameters: {
      ca_bundle: {
        type: 'string',
        expandEnv: true,
        description: "PEM file of the certificates the ACME server's TLS certificate chains to (private ACME servers).",
      },
      eab_credentials: {
        type: 'string',
        description: 'Credential (ApiKeyAndId: api_id = key id, api_key = HMAC key) for External Account Binding.',
      },
      challenge: {
        type: 'string',
        description: "'http-01' through the servers' acme_dir, or 'dns-01' through the DNS provider (the default when a dns section exists); wildcards always use DNS-01.",
      },
    },
    capabilities: { renewalInfo: () => require('./ca/acme').acmeRenewalWindow as RenewalInfo },
    load: () => require('./ca/acme').createAcmeCa as CaFactory,
  },
  {
    category: 'ca',
    name: 'local-ca',
    aliases: ['autossl.ca_manager.local.LocalCa'],
    description: 'An internal CA whose key and certificate are held in the CA storage.',
    caStorage: { holds: 'the CA key and certificate' },
    parameters: {
      ca_private_key: { type: 'string', required: true, description: "File of the CA private key in the CA storage ('autossl_ca.key'); a base name also finds <name>.key." },
      ca_certificate: { type: 'string', required: true, description: "File of the CA certificate in the CA storage ('autossl_ca.crt'); a base name also finds <name>.crt." },
      certificate_validity_days: { type: 'integer', description: 'Validity of issued certificates in days (default 90).' },
      create_if_missing: {
        type: 'boolean',
        description: 'Create the CA (EC P-256 key, 10-year self-signed certificate) in the CA storage when absent (default false).',
      },
      ca_common_name: { type: 'string', description: "Common name of a CA created by create_if_missing (default '<CA name> Local CA')." },
    },
    load: () => require('./ca/local-ca').createLocalCa as CaFactory,
  },
  {
    category: 'ca',
    name: 'manual',
    aliases: ['autossl.ca_manager.base.CaManager'],
    description: 'A CA with no automation: a person orders the certificate and delivers it.',
    parameters: {},
    capabilities: { awaitsPerson: true },
    load: () => require('./ca/manual').createManualCa as CaFactory,
  },
];

/** Default CA type when a blueprint names none (AutoSSL: a CA with no automation). */
export const DEFAULT_CA_TYPE = 'manual';

/** The entry a canonical `type` names; an in-house module (a resolved reference) is loaded, and throws if unfit. */
export function findPlugin(category: PluginCategory, type: string): CatalogEntry | undefined {
  if (isModuleReference(type)) return loadModulePlugin(category, type);
  return CATALOG.find((e) => e.category === category && (e.name === type || e.aliases.includes(type)));
}

export function pluginNames(category: PluginCategory): string[] {
  return CATALOG.filter((e) => e.category === category).flatMap((e) => [e.name, ...e.aliases]);
}

function loader<T>(category: PluginCategory, type: string): T {
  const entry = findPlugin(category, type);
  if (!entry) throw new Error(`no ${category} plugin of type '${type}'`);
  return entry.load() as T;
}

export const serverFactory = (type: string): ServerFactory => loader<ServerFactory>('server', type);
export const storageFactory = (type: string): StorageFactory => loader<StorageFactory>('storage', type);
export const caFactory = (type: string): CaFactory => loader<CaFactory>('ca', type);
export const trackingFactory = (type: string): TrackingFactory => loader<TrackingFactory>('tracking', type);
