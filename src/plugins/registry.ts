// Maps a blueprint `type` (short name or AutoSSL class path) to a plugin. The catalogue is pure data so the
// blueprint loader can validate types and parameters without loading any plugin code; each plugin module is
// required only when first used, which keeps `check` light.
import type { CaFactory, ServerFactory, StorageFactory } from './types';

export type PluginCategory = 'server' | 'storage' | 'tracking' | 'ca';

export type ParameterType = 'string' | 'boolean' | 'integer' | 'string[]';

export interface ParameterSpec {
  type: ParameterType;
  required?: boolean;
  /** `${VAR}` in the value is replaced from the environment at load time (as AutoSSL does for paths). */
  expandEnv?: boolean;
  description: string;
}

export interface CatalogEntry {
  category: PluginCategory;
  /** Canonical short name. */
  name: string;
  /** Other names accepted for `type`, AutoSSL class paths first. */
  aliases: string[];
  description: string;
  parameters: Record<string, ParameterSpec>;
  /** Loads the implementation; absent for kinds that carry data only (tracking). */
  load?: () => ServerFactory | StorageFactory | CaFactory;
}

const serverCommon: Record<string, ParameterSpec> = {
  host: { type: 'string', description: 'Host name of the server (also the placeholder key for global server maps).' },
  crt_name: { type: 'string', description: 'File stem of the deployed key and certificate; defaults to the blueprint name.' },
  deploy_full_chain: { type: 'boolean', description: 'Append the chain of trust to the deployed certificate file.' },
};

export const CATALOG: readonly CatalogEntry[] = [
  {
    category: 'server',
    name: 'local',
    aliases: ['autossl.server.local.LocalServer'],
    description: 'Files on the machine running the worker.',
    parameters: {
      ...serverCommon,
      path: { type: 'string', required: true, expandEnv: true, description: 'Folder receiving <crt_name>.key and <crt_name>.crt.' },
      acme_dir: { type: 'string', expandEnv: true, description: 'Folder served at /.well-known/acme-challenge/ for HTTP-01.' },
    },
    load: () => require('./servers/local').createLocalServer as ServerFactory,
  },
  {
    category: 'storage',
    name: 'local',
    aliases: ['autossl.storage.local.LocalFileStorage'],
    description: 'Artifacts as files in a local folder.',
    parameters: {
      path: { type: 'string', required: true, expandEnv: true, description: 'Folder holding <name>.key, .csr, .crt, .yaml.' },
    },
    load: () => require('./storage/local').createLocalStorage as StorageFactory,
  },
  {
    category: 'tracking',
    name: 'local',
    aliases: ['autossl.tracking.local.LocalFileTracking'],
    description: 'A JSON-lines log per certificate, fed from the workflow history.',
    parameters: {
      log_folder: { type: 'string', required: true, expandEnv: true, description: 'Folder receiving <name>.log.' },
    },
  },
  {
    category: 'ca',
    name: 'local-ca',
    aliases: ['autossl.ca_manager.local.LocalCa'],
    description: 'An internal CA whose key and certificate are held in the CA storage.',
    parameters: {
      ca_private_key: { type: 'string', required: true, description: 'Storage name of the CA private key.' },
      ca_certificate: { type: 'string', required: true, description: 'Storage name of the CA certificate.' },
      certificate_validity_days: { type: 'integer', description: 'Validity of issued certificates in days (default 90).' },
      create_if_missing: {
        type: 'boolean',
        description: 'Create the CA (EC P-256 key, 10-year self-signed certificate) in the CA storage when absent (default false).',
      },
      ca_common_name: { type: 'string', description: "Common name of a CA created by create_if_missing (default '<CA name> Local CA')." },
    },
    load: () => require('./ca/local-ca').createLocalCa as CaFactory,
  },
  {
    category: 'ca',
    name: 'manual',
    aliases: ['autossl.ca_manager.base.CaManager'],
    description: 'A CA with no automation: a person orders the certificate and delivers it.',
    parameters: {},
    load: () => require('./ca/manual').createManualCa as CaFactory,
  },
];

/** Default CA type when a blueprint names none (AutoSSL: a CA with no automation). */
export const DEFAULT_CA_TYPE = 'manual';

export function findPlugin(category: PluginCategory, type: string): CatalogEntry | undefined {
  return CATALOG.find((e) => e.category === category && (e.name === type || e.aliases.includes(type)));
}

export function pluginNames(category: PluginCategory): string[] {
  return CATALOG.filter((e) => e.category === category).flatMap((e) => [e.name, ...e.aliases]);
}

function loader<T>(category: PluginCategory, type: string): T {
  const entry = findPlugin(category, type);
  if (!entry?.load) throw new Error(`no ${category} plugin of type '${type}'`);
  return entry.load() as T;
}

export const serverFactory = (type: string): ServerFactory => loader<ServerFactory>('server', type);
export const storageFactory = (type: string): StorageFactory => loader<StorageFactory>('storage', type);
export const caFactory = (type: string): CaFactory => loader<CaFactory>('ca', type);
