// The one description of blueprint keys: the loader checks names and value types against it and the JSON Schema
// generator renders it, so an editor and `check` can never disagree about what a blueprint may hold.
import type { PluginCategory } from './catalog';
import { ARTIFACT_KINDS, NOTIFY_EVENTS, type CertificateType, type CredentialSpec } from './types';

export const CERTIFICATE_TYPES: readonly CertificateType[] = ['DV', 'OV', 'EV'];

export type CredentialType = CredentialSpec['type'];

export interface CredentialField {
  name: string;
  /** Read without echo when prompted. */
  secret: boolean;
  /** Not looked for on a terminal; absent when no source has it. */
  optional?: boolean;
}

/** Fields of each credential type, in the order a command-line `NAME:raw` value lists them. */
export const CREDENTIAL_FIELDS: Readonly<Record<CredentialType, readonly CredentialField[]>> = {
  UserPassword: [
    { name: 'username', secret: false },
    { name: 'password', secret: true },
  ],
  ApiKeyAndId: [
    { name: 'api_key', secret: true },
    { name: 'api_id', secret: true },
  ],
  SshKey: [
    { name: 'username', secret: false },
    { name: 'private_key_file', secret: false },
    { name: 'passphrase', secret: true, optional: true },
  ],
};

export const CREDENTIAL_TYPES = Object.keys(CREDENTIAL_FIELDS) as CredentialType[];

export const PRIVATE_KEY_TYPES = ['RSA', 'ECDSA'] as const;
export type PrivateKeyType = (typeof PRIVATE_KEY_TYPES)[number];
/** `private_key_size` when none is given. */
export const DEFAULT_KEY_SIZES: Readonly<Record<PrivateKeyType, number>> = { RSA: 2048, ECDSA: 256 };
/** ECDSA sizes, one per curve (P-256, P-384); RSA takes any size `isRsaBits` accepts. */
export const ECDSA_KEY_SIZES: readonly number[] = [256, 384];

export const DEFAULTS = {
  renewalDelayDays: 30,
  exactMatch: false,
  privateKeyReuse: false,
  privateKeyType: 'RSA' as PrivateKeyType,
  isCa: false,
  separator: ':',
  reminderIntervalHours: 24,
};

export type SectionName =
  | 'top'
  | 'server'
  | 'certificate'
  | 'organization'
  | 'certificateAuthority'
  | 'acmeApi'
  | 'caStorage'
  | 'storage'
  | 'tracking'
  | 'data'
  | 'dns'
  | 'notify'
  | 'webhook'
  | 'credential';

export type Field =
  | { kind: 'string'; description: string; required?: true; enum?: readonly string[]; default?: string }
  | { kind: 'integer'; description: string; enum?: readonly number[]; default?: number; minimum?: number; maximum?: number }
  | { kind: 'boolean'; description: string; default: boolean }
  | { kind: 'strings'; description: string; enum?: readonly string[]; default?: readonly string[] }
  /** A plugin `type`: a catalogue name or alias of `category`. */
  | { kind: 'plugin'; category: PluginCategory; description: string; required?: true; default?: string }
  /** Plugin options, checked against the catalogue entry named by the sibling `type`. */
  | { kind: 'parameters'; description: string }
  /** Free-form mapping passed on as it is. */
  | { kind: 'mapping'; description: string }
  /** A command: a list of arguments, or one line for the shell. */
  | { kind: 'command'; description: string }
  | { kind: 'section'; section: SectionName; description: string }
  | { kind: 'sections'; section: SectionName; description: string }
  /** A mapping from names the user chooses to sections. */
  | { kind: 'named'; section: SectionName; description: string }
  /** A list of servers; in the global config also a map of host placeholders. */
  | { kind: 'servers'; description: string };

export type Section = Readonly<Record<string, Field>>;

const pluginSection = (category: PluginCategory, what: string): Section => ({
  type: { kind: 'plugin', category, required: true, description: `Kind of ${what}: a short name or an AutoSSL class path.` },
  parameters: { kind: 'parameters', description: `Options of this ${what} kind.` },
  credentials: { kind: 'string', description: 'Name of an entry of `credentials:` used to reach it.' },
  credentials_parameters: { kind: 'mapping', description: 'Extra, non-secret fields merged into that credential.' },
  data: { kind: 'sections', section: 'data', description: 'Artifact kinds kept here; all kinds when absent.' },
});

export const SECTIONS: Readonly<Record<SectionName, Section>> = {
  top: {
    name: { kind: 'string', description: 'Name of the certificate: names its stored files and its workflow. Required in a blueprint.' },
    servers: { kind: 'servers', description: 'Where the certificate is deployed.' },
    certificate: { kind: 'section', section: 'certificate', description: 'What the certificate holds and how it is renewed.' },
    organization: { kind: 'section', section: 'organization', description: 'Subject organisation, used when the certificate has none.' },
    certificate_authorities: {
      kind: 'sections',
      section: 'certificateAuthority',
      description: 'Certificate authorities a certificate may name.',
    },
    storage: { kind: 'section', section: 'storage', description: 'Where keys, CSRs and certificates are kept.' },
    tracking: { kind: 'section', section: 'tracking', description: 'Where renewals and deployments are recorded.' },
    notify: { kind: 'section', section: 'notify', description: 'Who is told about renewals, failures and certificates awaited or expiring.' },
    credentials: {
      kind: 'named',
      section: 'credential',
      description: 'Credentials by name; values come from the command line, ~/.autossl, the environment or a prompt.',
    },
  },
  server: {
    type: { kind: 'plugin', category: 'server', required: true, description: 'Kind of server: a short name or an AutoSSL class path.' },
    host: { kind: 'string', description: 'Host name; `parameters.host` wins. May name a placeholder of the global config.' },
    credentials: { kind: 'string', description: 'Name of an entry of `credentials:` used to reach the server.' },
    credentials_parameters: { kind: 'mapping', description: 'Extra, non-secret fields merged into that credential.' },
    parameters: { kind: 'parameters', description: 'Options of this server kind.' },
  },
  certificate: {
    type: { kind: 'string', enum: CERTIFICATE_TYPES, description: 'Validation level. OV and EV need an organization.' },
    certificate_authority: { kind: 'string', description: 'The `key` of an entry of `certificate_authorities`.' },
    common_name: { kind: 'string', description: 'Subject common name: a host name or *.wildcard host name.' },
    san: { kind: 'strings', description: 'Subject alternative names: host names or *.wildcard host names.' },
    renewal_delay: {
      kind: 'integer',
      minimum: 0,
      default: DEFAULTS.renewalDelayDays,
      description: 'Renew when the certificate expires in this many days or fewer.',
    },
    exact_match: {
      kind: 'boolean',
      default: DEFAULTS.exactMatch,
      description: 'Deployed certificates must name exactly these domains; a wildcard does not stand for a named domain.',
    },
    private_key_reuse: { kind: 'boolean', default: DEFAULTS.privateKeyReuse, description: 'Keep the stored private key across renewals.' },
    private_key_type: {
      kind: 'string',
      enum: PRIVATE_KEY_TYPES,
      default: DEFAULTS.privateKeyType,
      description: 'Key algorithm of a new private key.',
    },
    private_key_size: {
      kind: 'integer',
      minimum: ECDSA_KEY_SIZES[0],
      description: 'RSA: 2048 bits (default) up to 16384, a multiple of 8. ECDSA: 256 (P-256, default) or 384 (P-384).',
    },
    organization: { kind: 'section', section: 'organization', description: 'Subject organisation; defaults to the top-level one.' },
    chain_of_trust: { kind: 'strings', description: 'PEM certificates from the intermediate up to the root; defaults to the CA one.' },
    is_ca: { kind: 'boolean', default: DEFAULTS.isCa, description: 'Request a CA certificate constrained to the SAN domains.' },
    profile: {
      kind: 'string',
      description: "ACME certificate profile asked for on every order (e.g. 'shortlived'); the CA's default when absent.",
    },
    dns: { kind: 'section', section: 'dns', description: "DNS-01 challenges (wildcards need them) through a DNS provider; wins over the CA's." },
  },
  organization: {
    company_name: { kind: 'string', description: 'Organisation (O).' },
    street_address: { kind: 'string', description: 'Street address.' },
    city: { kind: 'string', description: 'Locality (L).' },
    state: { kind: 'string', description: 'State or province (ST).' },
    postal_code: { kind: 'string', description: 'Postal code; quote it to keep leading zeros.' },
    country_code: { kind: 'string', description: 'Two-letter ISO 3166 country code (C).' },
    email_address: { kind: 'string', description: 'Contact e-mail address.' },
  },
  certificateAuthority: {
    key: { kind: 'string', required: true, description: 'Identifier a certificate names in `certificate_authority`.' },
    name: { kind: 'string', description: 'Display name; defaults to the key.' },
    type: { kind: 'plugin', category: 'ca', description: 'Kind of CA; a CA with no automation (manual) when absent.' },
    certificate_types: {
      kind: 'strings',
      enum: CERTIFICATE_TYPES,
      default: CERTIFICATE_TYPES,
      description: 'Certificate types this CA issues.',
    },
    acme_api: { kind: 'section', section: 'acmeApi', description: 'ACME directory base URLs.' },
    contact_email: { kind: 'string', description: 'Contact e-mail of the ACME account.' },
    storage: {
      kind: 'section',
      section: 'caStorage',
      description: "Where the ACME account key or the CA key and certificate live; the blueprint's storage when absent.",
    },
    chain_of_trust: { kind: 'strings', description: 'PEM certificates from the intermediate up to the root.' },
    parameters: { kind: 'parameters', description: 'Options of this CA kind.' },
    dns: { kind: 'section', section: 'dns', description: 'DNS-01 challenges of the certificates this CA issues, unless they have their own.' },
  },
  acmeApi: {
    production: { kind: 'string', description: 'Base URL of the production ACME directory.' },
    staging: { kind: 'string', description: 'Base URL of the staging ACME directory (used with --staging).' },
  },
  caStorage: {
    type: {
      kind: 'plugin',
      category: 'storage',
      description: "Kind of storage: a short name or an AutoSSL class path; the blueprint's storage when absent.",
    },
    name: {
      kind: 'string',
      description: "ACME: the account key's file in this storage, as AutoSSL names it ('account.key'); a base name also finds <name>.key.",
    },
    parameters: { kind: 'parameters', description: 'Options of this storage kind.' },
    credentials: { kind: 'string', description: 'Name of an entry of `credentials:` used to reach it.' },
  },
  storage: pluginSection('storage', 'storage'),
  tracking: pluginSection('tracking', 'tracking'),
  data: {
    type: { kind: 'string', required: true, enum: ARTIFACT_KINDS, description: 'Artifact kind.' },
    parameters: { kind: 'mapping', description: 'Accepted for AutoSSL compatibility; unused.' },
  },
  notify: {
    webhook: { kind: 'section', section: 'webhook', description: 'POSTs a JSON description of each event to a URL.' },
    command: {
      kind: 'command',
      description: 'Runs for each event with its JSON on stdin and AUTOSSL_EVENT set: a list of arguments, or one line run by sh.',
    },
    events: {
      kind: 'strings',
      enum: NOTIFY_EVENTS,
      default: NOTIFY_EVENTS,
      description: 'Events notified: success, failure, awaiting-certificate (manual CA, repeated as reminders), expiring.',
    },
    reminder_interval_hours: {
      kind: 'integer',
      minimum: 1,
      default: DEFAULTS.reminderIntervalHours,
      description: 'Hours between reminders while a manual CA certificate is awaited.',
    },
  },
  webhook: {
    url: {
      kind: 'string',
      required: true,
      description: 'http(s) URL; ${VAR} is expanded on the worker when sending, so a token in it stays out of history.',
    },
    headers: { kind: 'mapping', description: 'Extra request headers; ${VAR} in a value is expanded on the worker when sending.' },
  },
  dns: {
    provider: { kind: 'plugin', category: 'dns', required: true, description: 'DNS provider publishing the _acme-challenge TXT records.' },
    parameters: { kind: 'parameters', description: 'Options of this provider.' },
    credentials: {
      kind: 'string',
      description: 'Name of an entry of `credentials:` holding the secret (rfc2136: ApiKeyAndId, api_id = TSIG key name, api_key = base64 secret).',
    },
  },
  credential: {
    type: {
      kind: 'string',
      required: true,
      enum: CREDENTIAL_TYPES,
      description: 'UserPassword (username, password), ApiKeyAndId (api_key, api_id) or SshKey (username, private_key_file, passphrase).',
    },
    separator: { kind: 'string', default: DEFAULTS.separator, description: 'Separator of the fields in a --credentials NAME:value item.' },
  },
};
