// DNS-01 challenges: a provider publishes `_acme-challenge` TXT records and removes them. The ACME CA opens the
// one the blueprint chooses (`ctx.openDnsProvider`); the certificate's `dns` section wins over its CA's. Each
// provider is a folder here: its spec (parameters, credential) and its implementation.
import type { Blueprint, CertificateAuthoritySpec, DnsSpec } from '../../blueprint/types';
import type { PluginContext } from '../types';

export interface DnsProvider {
  /** Adds TXT `value` at `fqdn` (`_acme-challenge.<domain>`); resolves once the zone's server answers with it. */
  present(fqdn: string, value: string): Promise<void>;
  /** Deletes exactly that TXT value; other values at the same name stay. */
  cleanup(fqdn: string, value: string): Promise<void>;
  close(): Promise<void>;
}

export type DnsProviderFactory<P = Record<string, unknown>> = (spec: DnsSpec & { parameters: P }, ctx: PluginContext) => Promise<DnsProvider>;

/** The provider of the certificate's `dns` section, else its CA's; `null` when neither has one. */
export async function openDnsProvider(blueprint: Blueprint, ca: CertificateAuthoritySpec, ctx: PluginContext): Promise<DnsProvider | null> {
  const spec = blueprint.certificate.dns ?? ca.dns;
  return spec ? ctx.openDnsProvider(spec) : null;
}
