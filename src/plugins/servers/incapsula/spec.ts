import type { ParameterMap, ParameterValues } from '../../../blueprint/catalog';
import { definePlugin } from '../../types';
import { SERVER_PARAMETERS } from '../common';

/** Why `text` is no base URL for the API, which gets the API key in a header: https only, nothing but a path. */
function baseUrlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:') return 'must be an https:// URL';
  if (url.search || url.hash || url.username || url.password) return 'must be a plain https://host[:port][/path] URL';
  return undefined;
}

export const parameters = {
  ...SERVER_PARAMETERS,
  deploy_full_chain: { type: 'boolean', description: 'Ignored: Incapsula always gets the full chain (leaf, intermediates, root).' },
  site_id: { type: 'integer', required: true, minimum: 1, description: 'Numeric id of the site in Incapsula.' },
  base_url: { type: 'string', default: 'https://my.incapsula.com', check: (v) => baseUrlProblem(String(v)), description: "Imperva's API endpoint." },
  ca_bundle: {
    type: 'string',
    expandEnv: true,
    description: "PEM file of the certificates the API endpoint's TLS certificate chains to (a private endpoint).",
  },
} as const satisfies ParameterMap;

export type IncapsulaParameters = ParameterValues<typeof parameters>;

export default definePlugin({
  category: 'server',
  name: 'incapsula',
  aliases: ['autossl.server.incapsula.IncapsulaSite'],
  description:
    "An Incapsula (Imperva Cloud WAF) site's custom certificate, through Imperva's API (credentials: ApiKeyAndId). Serves no HTTP-01 files.",
  credentials: { types: ['ApiKeyAndId'], required: true },
  parameters,
  load: () => (require('.') as typeof import('.')).createIncapsulaSite,
});
