import type { ParameterMap, ParameterValues } from '../../../blueprint/catalog';
import { definePlugin } from '../../types';

export const parameters = {
  ca_bundle: {
    type: 'string',
    expandEnv: true,
    description: "PEM file of the certificates the ACME server's TLS certificate chains to (private ACME servers).",
  },
  eab_credentials: {
    type: 'string',
    description: 'Credential (ApiKeyAndId: api_id = key id, api_key = HMAC key) for External Account Binding.',
  },
  challenge: {
    type: 'string',
    enum: ['http-01', 'dns-01'],
    description:
      "'http-01' through the servers' acme_dir, or 'dns-01' through the DNS provider (the default when a dns section exists); wildcards always use DNS-01.",
  },
} as const satisfies ParameterMap;

export type AcmeParameters = ParameterValues<typeof parameters>;

export default definePlugin({
  category: 'ca',
  name: 'acme',
  aliases: ['autossl.ca_manager.acme_v2_http01.AcmeHttp01'],
  description: "An ACME CA (Let's Encrypt, a private ACME server): account key in the CA storage under storage.name.",
  caStorage: { holds: 'the ACME account key', named: true },
  parameters,
  capabilities: { renewalInfo: () => (require('.') as typeof import('.')).acmeRenewalWindow },
  load: () => (require('.') as typeof import('.')).createAcmeCa,
});
