// Names DNS providers' parameters hold: a server as host:port, a zone.
import { isIPv6 } from 'node:net';
import { normalizeDomain } from '../../x509/domains';

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
