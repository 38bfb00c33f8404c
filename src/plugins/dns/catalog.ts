// The DNS providers a `dns` section may name. Pure data, like the plugin registry: the blueprint loader checks
// providers, parameters and credentials with it and loads a provider's code only when a challenge needs it.
// Adding a provider: its file in this folder and one entry here.
import { isIPv6 } from 'node:net';
import type { CredentialType } from '../../blueprint/keys';
import { normalizeDomain } from '../../x509/domains';
import type { ParameterSpec } from '../registry';
import type { DnsProviderFactory } from './index';
import { TSIG_ALGORITHMS } from './wire';

/** A parameter with the value rules the loader applies besides its type. */
export interface CheckedParameterSpec extends ParameterSpec {
  enum?: readonly string[];
  minimum?: number;
  /** What is wrong with a value of the right type, phrased to follow its key ("must be host:port"). */
  check?: (value: unknown) => string | undefined;
}

export interface DnsProviderEntry {
  name: string;
  description: string;
  parameters: Readonly<Record<string, CheckedParameterSpec>>;
  /** The type of the credential the section must name; absent when the provider needs none. */
  credentialType?: CredentialType;
  load: () => DnsProviderFactory;
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; `null` when it is none of them. */
export function parseHostPort(text: string, defaultPort: number): HostPort | null {
  if (isIPv6(text)) return { host: text, port: defaultPort };
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(text);
  if (!match || (match[1] !== undefined && !isIPv6(match[1]))) return null;
  const port = match[3] === undefined ? defaultPort : Number(match[3]);
  return port >= 1 && port <= 65535 ? { host: match[1] ?? match[2], port } : null;
}

/** The normalised zone name (lower case, no trailing dot); `null` for a wildcard or a non-name. */
export function zoneName(text: string): string | null {
  const name = normalizeDomain(text);
  return name && !name.startsWith('*.') ? name : null;
}

export const DNS_PROVIDERS: readonly DnsProviderEntry[] = [
  {
    name: 'rfc2136',
    description: 'RFC 2136 dynamic update signed with TSIG: BIND, PowerDNS, Knot and most on-premise DNS servers.',
    credentialType: 'ApiKeyAndId',
    parameters: {
      server: {
        type: 'string',
        required: true,
        description: 'Primary server of the zone, accepting updates: host:port (port 53 when absent).',
        check: (v) => (parseHostPort(String(v), 53) ? undefined : 'must be host or host:port (an IPv6 address in [brackets] with a port)'),
      },
      zone: {
        type: 'string',
        description: 'Zone holding the _acme-challenge records; looked up (SOA) at the server when absent.',
        check: (v) => (zoneName(String(v)) ? undefined : 'is not a DNS zone name'),
      },
      tsig_key_name: { type: 'string', description: "TSIG key name; defaults to the credential's api_id (api_key holds the base64 secret)." },
      tsig_algorithm: { type: 'string', enum: TSIG_ALGORITHMS, description: 'TSIG algorithm: hmac-sha256 (default), hmac-sha512 or hmac-sha1.' },
      ttl: { type: 'integer', minimum: 1, description: 'TTL of the TXT records in seconds (default 60).' },
      propagation_timeout: {
        type: 'integer',
        minimum: 1,
        description: 'Seconds to wait for a record to be visible at the server before giving up (default 120).',
      },
    },
    load: () => require('./rfc2136').createRfc2136Provider as DnsProviderFactory,
  },
];

export const DNS_PROVIDER_NAMES = DNS_PROVIDERS.map((p) => p.name);

export const findDnsProvider = (name: string): DnsProviderEntry | undefined => DNS_PROVIDERS.find((p) => p.name === name);
