// DNS name constraints (RFC 5280 4.2.1.10): how an internal CA is limited to the domains it was made for.
// Internal to src/x509: @peculiar/x509 2.2 has no class for this extension, so it is built and read with the
// ASN.1 schema the library itself uses.
import { AsnConvert } from '@peculiar/asn1-schema';
import { GeneralName, GeneralSubtree, GeneralSubtrees, NameConstraints, id_ce_nameConstraints } from '@peculiar/asn1-x509';
import { Extension } from './peculiar';

export interface DnsNameConstraints {
  permitted: string[];
  excluded: string[];
}

/** A critical extension permitting exactly the DNS subtrees of `domains` (a wildcard permits its parent). */
export function permitDomainsExtension(domains: readonly string[]): Extension {
  const bases = [...new Set(domains.map((d) => d.replace(/^\*\./, '')))];
  const subtrees = new GeneralSubtrees(bases.map((dNSName) => new GeneralSubtree({ base: new GeneralName({ dNSName }) })));
  return new Extension(id_ce_nameConstraints, true, AsnConvert.serialize(new NameConstraints({ permittedSubtrees: subtrees })));
}

/** The DNS subtrees of a name constraints extension found in `extensions`; `null` when there is none. */
export function readDnsNameConstraints(extensions: readonly Extension[]): DnsNameConstraints | null {
  const ext = extensions.find((e) => e.type === id_ce_nameConstraints);
  if (!ext) return null;
  const nc = AsnConvert.parse(ext.value, NameConstraints);
  const dns = (subtrees: GeneralSubtrees | undefined) =>
    (subtrees ?? []).flatMap((s) => (s.base.dNSName === undefined ? [] : [s.base.dNSName.toLowerCase().replace(/\.$/, '')]));
  return { permitted: dns(nc.permittedSubtrees), excluded: dns(nc.excludedSubtrees) };
}

/**
 * Is `name` inside DNS subtree `base`? RFC 5280: labels may be added on the left (`a.com` holds `a.com` and
 * `x.a.com`); the common `.a.com` form holds subdomains only; an empty base holds everything. A wildcard name is
 * matched literally, as OpenSSL does.
 */
export function inSubtree(name: string, base: string): boolean {
  if (base === '') return true;
  if (base.startsWith('.')) return name.endsWith(base);
  return name === base || name.endsWith(`.${base}`);
}

/** Why `name` breaks the constraints, or `null` when it is allowed. */
export function constraintViolation(name: string, nc: DnsNameConstraints): string | null {
  if (nc.permitted.length && !nc.permitted.some((b) => inSubtree(name, b))) {
    return `'${name}' is outside the permitted names (${nc.permitted.join(', ')})`;
  }
  const excluded = nc.excluded.find((b) => inSubtree(name, b));
  return excluded === undefined ? null : `'${name}' is in the excluded names (${excluded})`;
}
