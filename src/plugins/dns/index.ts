// DNS-01 challenges: a provider publishes `_acme-challenge` TXT records and removes them. The ACME CA opens the
// one the blueprint chooses; the certificate's `dns` section wins over its CA's.
import type { Blueprint, CertificateAuthoritySpec, DnsSpec } from '../../blueprint/types';
import { PluginConfigError } from '../errors';
import type { PluginContext } from '../types';
import { findDnsProvider } from './catalog';

export interface DnsProvider {
  /** Adds TXT `value` at `fqdn` (`_acme-challenge.<domain>`); resolves once the zone's server answers with it. */
  present(fqdn: string, value: string): Promise<void>;
  /** Deletes exactly that TXT value; other values at the same name stay. */
  cleanup(fqdn: string, value: string): Promise<void>;
  close(): Promise<void>;
}

export type DnsProviderFactory = (spec: DnsSpec, ctx: PluginContext) => Promise<DnsProvider>;

/** The provider of the certificate's `dns` section, else its CA's; `null` when neither has one. */
export async function openDnsProvider(blueprint: Blueprint, ca: CertificateAuthoritySpec, ctx: PluginContext): Promise<DnsProvider | null> {
  const spec = blueprint.certificate.dns ?? ca.dns;
  if (!spec) return null;
  const entry = findDnsProvider(spec.provider);
  // The loader rejects unknown providers; this guards blueprints built by hand in code.
  if (!entry) throw new PluginConfigError(`dns ${spec.provider}`, `unknown DNS provider '${spec.provider}'`);
  return entry.load()(spec, ctx);
}
