// Which certificate a TLS endpoint serves, for the `verify` check after a deploy. Trust is not the question (the
// certificate may come from an internal CA the worker does not know): the caller compares the served leaf with
// the one it deployed.
import { X509Certificate } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';

export interface Endpoint {
  host: string;
  port: number;
}

/** `host:port` or `[ipv6]:port`; undefined when `text` is neither. */
export function parseEndpoint(text: string): Endpoint | undefined {
  const found = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:[\]]+)):(\d{1,5})$/.exec(text);
  const port = found ? Number(found[3]) : 0;
  if (!found || port < 1 || port > 65535) return undefined;
  return { host: found[1] ?? found[2], port };
}

export const formatEndpoint = ({ host, port }: Endpoint): string => (net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`);

/**
 * The leaf certificate `endpoint` presents. `servername` is sent as SNI; by default the endpoint's host, unless
 * it is an IP address (SNI carries names only).
 */
export function servedCertificate(endpoint: Endpoint, opts: { servername?: string; timeoutMs: number }): Promise<X509Certificate> {
  const servername = opts.servername ?? (net.isIP(endpoint.host) ? undefined : endpoint.host);
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: endpoint.host, port: endpoint.port, rejectUnauthorized: false, ...(servername && { servername }) }, () => {
      const { raw } = socket.getPeerCertificate();
      socket.end();
      if (raw) resolve(new X509Certificate(raw));
      else reject(new Error(`${formatEndpoint(endpoint)} presented no certificate`));
    });
    socket.setTimeout(opts.timeoutMs, () =>
      socket.destroy(new Error(`no TLS handshake with ${formatEndpoint(endpoint)} within ${opts.timeoutMs} ms`)),
    );
    socket.once('error', reject);
  });
}
