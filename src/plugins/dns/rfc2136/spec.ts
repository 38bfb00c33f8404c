import type { ParameterMap, ParameterValues } from '../../../blueprint/catalog';
import { definePlugin } from '../../types';
import { parseHostPort, zoneName } from '../names';
import { TSIG_ALGORITHMS } from './wire';

export const parameters = {
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
  tsig_algorithm: { type: 'string', enum: TSIG_ALGORITHMS, default: 'hmac-sha256', description: 'TSIG algorithm.' },
  ttl: { type: 'integer', default: 60, minimum: 1, description: 'TTL of the TXT records in seconds.' },
  propagation_timeout: {
    type: 'integer',
    default: 120,
    minimum: 1,
    description: 'Seconds to wait for a record to be visible at the server before giving up.',
  },
} as const satisfies ParameterMap;

export type Rfc2136Parameters = ParameterValues<typeof parameters>;

export default definePlugin({
  category: 'dns',
  name: 'rfc2136',
  aliases: [],
  description: 'RFC 2136 dynamic update signed with TSIG: BIND, PowerDNS, Knot and most on-premise DNS servers.',
  credentials: { types: ['ApiKeyAndId'], required: true },
  parameters,
  load: () => (require('.') as typeof import('.')).createRfc2136Provider,
});
