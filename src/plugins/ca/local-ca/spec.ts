import type { ParameterMap, ParameterValues } from '../../../blueprint/catalog';
import { definePlugin } from '../../types';

export const parameters = {
  ca_private_key: {
    type: 'string',
    required: true,
    description: "File of the CA private key in the CA storage ('autossl_ca.key'); a base name also finds <name>.key.",
  },
  ca_certificate: {
    type: 'string',
    required: true,
    description: "File of the CA certificate in the CA storage ('autossl_ca.crt'); a base name also finds <name>.crt.",
  },
  certificate_validity_days: { type: 'integer', default: 90, minimum: 1, description: 'Validity of issued certificates in days.' },
  create_if_missing: {
    type: 'boolean',
    default: false,
    description: 'Create the CA (EC P-256 key, 10-year self-signed certificate) in the CA storage when absent.',
  },
  ca_common_name: { type: 'string', description: "Common name of a CA created by create_if_missing (default '<CA name> Local CA')." },
} as const satisfies ParameterMap;

export type LocalCaParameters = ParameterValues<typeof parameters>;

export default definePlugin({
  category: 'ca',
  name: 'local-ca',
  aliases: ['autossl.ca_manager.local.LocalCa'],
  description: 'An internal CA whose key and certificate are held in the CA storage.',
  caStorage: { holds: 'the CA key and certificate' },
  parameters,
  load: () => (require('.') as typeof import('.')).createLocalCa,
});
