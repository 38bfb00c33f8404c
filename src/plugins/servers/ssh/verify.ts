// The check after a deploy that the TLS endpoint serves the new certificate.
import type { X509Certificate } from 'node:crypto';
import { PluginIoError, messageOf } from '../../errors';
import { formatEndpoint, servedCertificate, type Endpoint } from '../../tls-probe';

/** How long the verify endpoint may take to pick up the new certificate (nginx reloads asynchronously). */
const VERIFY_WINDOW_MS = 15_000;
const VERIFY_INTERVAL_MS = 500;

/** Waits until `endpoint` serves `deployed` (it may take a moment to reload); fails with what it serves instead. */
export async function verifyServed(
  subject: string,
  endpoint: Endpoint,
  deployed: X509Certificate,
  opts: { timeoutMs: number; servername?: string },
): Promise<void> {
  const deadline = Date.now() + VERIFY_WINDOW_MS;
  const where = formatEndpoint(endpoint);
  for (;;) {
    let last: string;
    try {
      const served = await servedCertificate(endpoint, {
        timeoutMs: opts.timeoutMs,
        ...(opts.servername && { servername: opts.servername }),
      });
      if (served.fingerprint256 === deployed.fingerprint256) return;
      last = `it serves certificate serial ${served.serialNumber}, not the deployed ${deployed.serialNumber}`;
    } catch (err) {
      last = messageOf(err);
    }
    if (Date.now() >= deadline) throw new PluginIoError(subject, `verify ${where}: ${last}`, undefined);
    await new Promise((r) => setTimeout(r, VERIFY_INTERVAL_MS));
  }
}
