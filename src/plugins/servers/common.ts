// Parameters every server kind takes, as AutoSSL's servers do.
import type { ParameterMap } from '../../blueprint/catalog';

export const SERVER_PARAMETERS = {
  host: { type: 'string', description: 'Host name of the server (also the placeholder key for global server maps).' },
  crt_name: { type: 'string', description: 'File stem of the deployed key and certificate; defaults to the blueprint name.' },
  deploy_full_chain: { type: 'boolean', default: false, description: 'Append the chain of trust to the deployed certificate file.' },
} as const satisfies ParameterMap;
