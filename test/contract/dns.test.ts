// Every DNS provider against the DNS provider contract. Adding a provider = one line below.
import { openDnsProvider } from '../../src/plugins/dns';
import { certificateAuthority, pluginContext } from '../../src/catalog/open';
import { startBind } from '../helpers/bind';
import { openBlueprint, sharedService } from './harness';
import { dnsContract, type DnsUnderTest } from './dns';

const bind = sharedService(
  () => startBind(),
  (b) => b.stop(),
);

/** rfc2136 against BIND with a TSIG key from the blueprint's credential; BIND's answers through a plain resolver. */
const rfc2136 = async (): Promise<DnsUnderTest> => {
  const server = await bind.get();
  const opened = await openBlueprint(
    {
      certificate: {
        type: 'DV',
        certificate_authority: 'Manual',
        common_name: server.zone,
        dns: { provider: 'rfc2136', credentials: 'tsig', parameters: { server: server.server } },
      },
      credentials: { tsig: { type: 'ApiKeyAndId' } },
    },
    { TSIG_API_ID: server.keyName, TSIG_API_KEY: server.secret },
  );
  const provider = await openDnsProvider(opened.blueprint, certificateAuthority(opened.blueprint), pluginContext(opened.blueprint, opened.env));
  if (!provider) throw new Error('a dns section opens a provider');
  const txt = async (fqdn: string): Promise<string[]> =>
    server.resolver.resolveTxt(fqdn).then(
      (records) => records.map((chunks) => chunks.join('')),
      (e: NodeJS.ErrnoException) => (e.code === 'ENODATA' || e.code === 'ENOTFOUND' ? [] : Promise.reject(e)),
    );
  return { provider, zone: server.zone, txt, teardown: opened.teardown };
};

dnsContract('rfc2136 (BIND, TSIG)', rfc2136);
