// Opens the plugins a blueprint names, with credentials resolved where this process runs (worker or CLI).
import type { Blueprint, CertificateAuthoritySpec } from '../blueprint/types';
import type { CredentialResolver } from '../blueprint/credentials';
import { caFactory, serverFactory, storageFactory, trackingFactory } from './registry';
import type { ActivityScope, CaPlugin, PluginContext, ServerPlugin, StoragePlugin, TrackingPlugin } from './types';

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
    openStorage: async (spec) => storageFactory(spec.type)(spec, ctx),
  };
  return ctx;
}

/** The blueprint's artifact storage; `null` when it has none. */
export async function openStorage(blueprint: Blueprint, env: PluginEnvironment): Promise<StoragePlugin | null> {
  return blueprint.storage ? pluginContext(blueprint, env).openStorage(blueprint.storage) : null;
}

/** The blueprint's tracking plugin; `null` when it keeps no tracking record. */
export async function openTracking(blueprint: Blueprint, env: PluginEnvironment): Promise<TrackingPlugin | null> {
  return blueprint.tracking ? trackingFactory(blueprint.tracking.type)(blueprint.tracking, pluginContext(blueprint, env)) : null;
}

export async function openServer(blueprint: Blueprint, id: string, env: PluginEnvironment): Promise<ServerPlugin> {
  const spec = blueprint.servers.find((s) => s.id === id);
  if (!spec) throw new Error(`blueprint '${blueprint.name}' has no server '${id}'`);
  return serverFactory(spec.type)(spec, pluginContext(blueprint, env));
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
  return caFactory(spec.type)(spec, pluginContext(blueprint, env));
}

/** Runs `fn` with a plugin and always releases it. */
export async function using<P extends { close(): Promise<void> }, T>(plugin: P, fn: (p: P) => Promise<T>): Promise<T> {
  try {
    return await fn(plugin);
  } finally {
    await plugin.close();
  }
}
