// The validated, normalised blueprint. Plain JSON data: it travels as a workflow argument, so it must never hold
// a secret (credentials are referenced by name and resolved on the worker).

export type CertificateType = 'DV' | 'OV' | 'EV';
export type ArtifactKind = 'key' | 'csr' | 'crt' | 'yaml';
export const ARTIFACT_KINDS: readonly ArtifactKind[] = ['key', 'csr', 'crt', 'yaml'];

/** Key algorithm requested for the certificate's private key. */
export type KeySpec = { type: 'rsa'; bits: number } | { type: 'ec'; curve: 'P-256' | 'P-384' };

export interface Organization {
  company_name?: string;
  street_address?: string;
  city?: string;
  state?: string;
  postal_code?: string;
  country_code?: string;
  email_address?: string;
}

/** A reference to a plugin as the blueprint wrote it, with its type resolved to the canonical short name. */
export interface PluginSpec {
  /** Canonical short name: `local`, `ssh`, `git`, `acme`, `local-ca`, `manual`, ... */
  type: string;
  /** The type exactly as written in the blueprint (an AutoSSL class path or a short name). */
  declaredType: string;
  /** Plugin options, after `${VAR}` expansion where AutoSSL does it. */
  parameters: Record<string, unknown>;
  /** Name of an entry in `credentials:`; never the secret itself. */
  credentials?: string;
  /** Extra, non-secret fields merged into the credential when it is resolved. */
  credentialsParameters?: Record<string, unknown>;
}

export interface ServerSpec extends PluginSpec {
  /** Stable, human-readable identity of this server inside the blueprint, e.g. `local:/etc/ssl/site` or `ssh:web-1:/etc/ssl`. */
  id: string;
  /** `parameters.host`, else the server's `host`; a global placeholder is replaced by each of its hosts. */
  host?: string;
  /** File stem for `<crt_name>.key` / `.crt`; defaults to the blueprint name. */
  crtName: string;
}

export interface StorageSpec extends PluginSpec {
  /** Artifact kinds this back end stores or serves; all kinds when the blueprint lists none. */
  data: ArtifactKind[];
}

export interface CaStorageSpec extends PluginSpec {
  /** The ACME account key's file in this storage: the exact file name, else `<name>.key` (storage/named-file.ts). */
  name?: string;
}

export interface CertificateAuthoritySpec {
  name: string;
  key: string;
  /** Canonical CA type: `acme`, `local-ca` or `manual`. */
  type: string;
  declaredType: string;
  certificateTypes: CertificateType[];
  /** ACME directory base URLs as written; AutoSSL appends `/directory` to them. */
  acmeApi?: { production?: string; staging?: string };
  contactEmail?: string;
  /** The CA's own storage, else (for CA kinds that keep files) the blueprint's. */
  storage?: CaStorageSpec;
  chainOfTrust: string[];
  parameters: Record<string, unknown>;
  /** DNS-01 challenges of this CA's certificates, unless a certificate has its own. */
  dns?: DnsSpec;
}

/** The DNS provider publishing `_acme-challenge` TXT records for DNS-01. */
export interface DnsSpec {
  /** A DNS provider of the plugin catalog (src/plugins/dns/<name>). */
  provider: string;
  parameters: Record<string, unknown>;
  /** Name of an entry in `credentials:`; never the secret itself. */
  credentials?: string;
}

export interface CertificateSpec {
  type: CertificateType;
  certificateAuthority: string;
  /** Normalised like `domains`. */
  commonName?: string;
  /** Every domain the certificate must cover, lower-case ASCII (IDN as punycode), CN first, no duplicates. */
  domains: string[];
  /** Normalised like `domains`, without duplicates; the common name is not added. */
  san: string[];
  renewalDelayDays: number;
  exactMatch: boolean;
  privateKeyReuse: boolean;
  key: KeySpec;
  /** The certificate's own, else the blueprint's top-level one. */
  organization?: Organization;
  /** The certificate's own chain, else its CA's (PEM, intermediate first). */
  chainOfTrust: string[];
  isCa: boolean;
  /** ACME certificate profile sent on new orders; the CA's default when absent. */
  profile?: string;
  /** DNS-01 challenges; wins over the CA's `dns`. */
  dns?: DnsSpec;
}

export interface CredentialSpec {
  type: 'UserPassword' | 'ApiKeyAndId' | 'SshKey';
  separator: string;
}

export type NotifyEventKind = 'success' | 'failure' | 'awaiting-certificate' | 'expiring';
export const NOTIFY_EVENTS: readonly NotifyEventKind[] = ['success', 'failure', 'awaiting-certificate', 'expiring'];

/**
 * Where events are announced. `${VAR}` in the webhook URL and headers is kept as written and expanded by the
 * worker when it sends, so tokens never travel in workflow history.
 */
export interface NotifySpec {
  webhook?: { url: string; headers: Record<string, string> };
  /** Arguments of the command; a one-line command is `['sh', '-c', line]`. */
  command?: string[];
  events: NotifyEventKind[];
  reminderIntervalHours: number;
}

export interface Blueprint {
  name: string;
  /** Where it came from, for messages. */
  source: { blueprint: string; config?: string };
  servers: ServerSpec[];
  certificate: CertificateSpec;
  organization?: Organization;
  certificateAuthorities: CertificateAuthoritySpec[];
  storage?: StorageSpec;
  tracking?: StorageSpec;
  notify?: NotifySpec;
  credentials: Record<string, CredentialSpec>;
}
