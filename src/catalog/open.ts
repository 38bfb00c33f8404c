// Opens the plugins a blueprint names, with credentials resolved where this process runs (worker or CLI). The one
// place a factory is called: it gets the parameters the loader checked, with its spec's defaults filled in.
import { withDefaults, type PluginCategory } from '../blueprint/catalog';
import type { CredentialResolver } from '../blueprint/credentials';
import type { Blueprint, CertificateAuthoritySpec } from '../blueprint/types';
import { PluginConfigError } from '../plugins/errors';
import type { DnsProvider } from '../plugins/dns';
import type { ActivityScope, CaPlugin, PluginContext, ServerPlugin, StoragePlugin, TrackingPlugin } from '../plugins/types';
import { findPlugin } from '.';

export interface PluginEnvironment {
  /** Credentials of a blueprint, resolved where this process runs. */
  credentialsFor(blueprint: Blueprint): CredentialResolver;
  /** Use the CAs' staging endpoints. */
  staging: boolean;
  /** The activity running now, when this process is a worker (set by createActivities). */
  activity?: () => ActivityScope | undefined;
}

export function pluginContext(blueprint: Blueprint, env: PluginEnvironment): PluginContext {
  const ctx: PluginContext = {
    blueprint,
    credentials: env.credentialsFor(blueprint),
    staging: env.staging,
    activity: () => env.activity?.(),
    openStorage: (spec) => create('storage', spec.type, spec, ctx),
    openDnsProvider: (spec) => create('dns', spec.provider, spec, ctx),
  };
  return ctx;
}

/** The blueprint's artifact storage; `null` when it has none. */
export async function openStorage(blueprint: Blueprint, env: PluginEnvironment): Promise<StoragePlugin | null> {
  return blueprint.storage ? pluginContext(blueprint, env).openStorage(blueprint.storage) : null;
}

/** The blueprint's tracking plugin; `null` when it keeps no tracking record. */
export async function openTracking(blueprint: Blueprint, env: PluginEnvironment): Promise<TrackingPlugin | null> {
  return blueprint.tracking ? create('tracking', blueprint.tracking.type, blueprint.tracking, pluginContext(blueprint, env)) : null;
}

export async function openServer(blueprint: Blueprint, id: string, env: PluginEnvironment): Promise<ServerPlugin> {
  const spec = blueprint.servers.find((s) => s.id === id);
  if (!spec) throw new Error(`blueprint '${blueprint.name}' has no server '${id}'`);
  return create('server', spec.type, spec, pluginContext(blueprint, env));
}

export function certificateAuthority(blueprint: Blueprint): CertificateAuthoritySpec {
  const key = blueprint.certificate.certificateAuthority;
  const ca = blueprint.certificateAuthorities.find((c) => c.key === key);
  // The loader guarantees it; this guards blueprints built by hand in code.
  if (!ca) throw new Error(`blueprint '${blueprint.name}' names an unknown certificate authority '${key}'`);
  return ca;
}

export async function openCa(blueprint: Blueprint, env: PluginEnvironment): Promise<CaPlugin> {
  const spec = certificateAuthority(blueprint);
  return create('ca', spec.type, spec, pluginContext(blueprint, env));
}

/** Runs `fn` with a plugin and always releases it. */
export async function using<P extends { close(): Promise<void> }, T>(plugin: P, fn: (p: P) => Promise<T>): Promise<T> {
  try {
    return await fn(plugin);
  } finally {
    await plugin.close();
  }
}

interface Opened {
  server: ServerPlugin;
  storage: StoragePlugin;
  tracking: TrackingPlugin;
  ca: CaPlugin;
  dns: DnsProvider;
}

/** Calls the factory of `type` with the spec, its parameters completed with the defaults of the plugin's spec. */
export async function create<C extends PluginCategory>(
  category: C,
  type: string,
  spec: { parameters: Record<string, unknown> },
  ctx: PluginContext,
): Promise<Opened[C]> {
  const entry = findPlugin(category, type);
  // The loader rejects unknown types; this guards blueprints built by hand in code.
  if (!entry) throw new PluginConfigError(`${category} ${type}`, `no ${category} plugin of type '${type}'`);
  const factory = entry.load() as (spec: unknown, ctx: PluginContext) => Opened[C] | Promise<Opened[C]>;
  return factory({ ...spec, parameters: withDefaults(entry.parameters, spec.parameters) }, ctx);
}
