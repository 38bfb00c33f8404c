// The one list of built-in plugins: a line per plugin, each spec in its plugin's folder. The blueprint loader,
// the JSON Schema, `--help`, inspection and the worker all read plugins from here; in-house modules (a `type`
// naming a module) are found through the same lookup. Loading a spec loads no implementation.
import { pluginNames, type PluginCatalog, type PluginCategory } from '../blueprint/catalog';
import { loadBlueprints as loadWith, type LoadOptions } from '../blueprint/load';
import acme from '../plugins/ca/acme/spec';
import localCa from '../plugins/ca/local-ca/spec';
import manual from '../plugins/ca/manual/spec';
import rfc2136 from '../plugins/dns/rfc2136/spec';
import incapsula from '../plugins/servers/incapsula/spec';
import localServer from '../plugins/servers/local/spec';
import ssh from '../plugins/servers/ssh/spec';
import git from '../plugins/storage/git/spec';
import localStorage from '../plugins/storage/local/spec';
import localTracking from '../plugins/tracking/local/spec';
import type { PluginEntry } from '../plugins/types';
import type { Blueprint } from '../blueprint/types';
import { MODULE_CATEGORIES, isModuleReference, loadModulePlugin, resolveModuleReference } from './modules';

export const BUILT_IN: readonly PluginEntry[] = [localServer, ssh, incapsula, localStorage, git, localTracking, acme, localCa, manual, rfc2136];

/** The entry a canonical `type` names; an in-house module (a resolved reference) is loaded, and throws if unfit. */
export function findPlugin<C extends PluginCategory>(category: C, type: string): PluginEntry<C> | undefined {
  if (isModuleType(category, type)) return loadModulePlugin(category, type) as PluginEntry<C>;
  return BUILT_IN.find((e): e is PluginEntry<C> => e.category === category && (e.name === type || e.aliases.includes(type)));
}

const isModuleType = (category: PluginCategory, type: string): boolean => MODULE_CATEGORIES.includes(category) && isModuleReference(type);

export const CATALOG: PluginCatalog = {
  find: findPlugin,
  entries: (category) => BUILT_IN.filter((e) => e.category === category),
  isModuleReference: isModuleType,
  resolveModuleReference,
  defaultCaType: manual.name,
};

/** Built-in names and aliases of a category. */
export const builtInNames = (category: PluginCategory): string[] => pluginNames(CATALOG, category);

/** The blueprint loader over this catalog. */
export const loadBlueprints = (opts: Omit<LoadOptions, 'catalog'>): Promise<Blueprint[]> => loadWith({ ...opts, catalog: CATALOG });
