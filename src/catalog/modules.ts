// In-house plugins: a blueprint `type` naming a JavaScript module instead of a built-in kind, as the original's
// dotted class paths let teams plug in their own tracking, storage and server classes. The module exports a
// plugin definition (category, parameter specs, factory); it is loaded when blueprints load, so its parameters are
// validated with file and line like a built-in's, and again by path on the worker that uses it.
import path from 'node:path';
import type { ParameterSpec, PluginCategory } from '../blueprint/catalog';
import { ClassifiedError } from '../errors';
import { messageOf } from '../plugins/errors';
import type { CaCapabilities, CaFactory, PluginEntry, ServerFactory, StorageFactory, TrackingFactory } from '../plugins/types';

/** What an in-house plugin module exports (see README "Adding a plugin"). */
export interface PluginDefinition {
  category: ModuleCategory;
  /** Shown in messages and `status`; the blueprint's `type` stays the module reference. */
  name: string;
  description?: string;
  parameters?: Record<string, ParameterSpec>;
  /** A CA's capabilities, as the built-in ones declare them (e.g. `{ awaitsPerson: true }` for a manual CA). */
  capabilities?: CaCapabilities;
  create: ServerFactory | StorageFactory | CaFactory | TrackingFactory;
}

/** A module reference could not be loaded or does not define a plugin of the kind expected. */
export class PluginModuleError extends ClassifiedError {
  override readonly name = 'PluginModuleError';
}

/**
 * A `type` naming a module: a path (`./x.js`, `../x.js`, `/abs/x.js`) or an installed package, with `#export`
 * naming the export (default: the module's `default`, else the module itself). `#` is required for a package so
 * that a short name such as `local` never means one.
 */
export const isModuleReference = (type: string): boolean => /^\.{1,2}\//.test(type) || path.isAbsolute(type) || type.includes('#');

function split(reference: string): { specifier: string; exportName?: string } {
  const hash = reference.lastIndexOf('#');
  return hash < 0 ? { specifier: reference } : { specifier: reference.slice(0, hash), exportName: reference.slice(hash + 1) };
}

/**
 * The reference made independent of where it was written: `<absolute file>#<export>`, resolved from the folder of
 * the file that named it. The worker loads that path, so it must see the module where the blueprint's machine does.
 */
export function resolveModuleReference(reference: string, fromFile: string): string {
  const { specifier, exportName } = split(reference);
  if (specifier === '') throw new PluginModuleError(`plugin module '${reference}': no module before '#'`);
  let file: string;
  try {
    file = require.resolve(specifier.startsWith('.') ? path.resolve(path.dirname(fromFile), specifier) : specifier, {
      paths: [path.dirname(fromFile)],
    });
  } catch {
    throw new PluginModuleError(`plugin module '${specifier}' not found (looked from ${path.dirname(fromFile)})`);
  }
  return exportName === undefined ? file : `${file}#${exportName}`;
}

const loaded = new Map<string, PluginEntry>();

/** The catalog entry a resolved reference defines, checked against `category`; cached per process. */
export function loadModulePlugin(category: PluginCategory, resolved: string): PluginEntry {
  const cached = loaded.get(resolved);
  if (cached) return checkCategory(cached, category, resolved);
  const { specifier: file, exportName } = split(resolved);
  let exports: Record<string, unknown>;
  try {
    exports = require(file) as Record<string, unknown>;
  } catch (err) {
    throw new PluginModuleError(`plugin module ${resolved} failed to load: ${messageOf(err)}`);
  }
  const definition = exportName !== undefined ? exports?.[exportName] : (exports?.default ?? exports);
  const entry = toEntry(definition, resolved, exportName);
  loaded.set(resolved, entry);
  return checkCategory(entry, category, resolved);
}

/** The kinds an in-house module may be. */
export const MODULE_CATEGORIES: readonly PluginCategory[] = ['server', 'storage', 'ca', 'tracking'];
type ModuleCategory = 'server' | 'storage' | 'ca' | 'tracking';
const PARAMETER_TYPES = ['string', 'boolean', 'integer', 'string[]'];

function toEntry(definition: unknown, resolved: string, exportName: string | undefined): PluginEntry {
  const bad = (why: string) => new PluginModuleError(`plugin module ${resolved} is not an autossl plugin: ${why}`);
  if (definition === undefined) throw bad(exportName === undefined ? 'it exports nothing' : `it has no export '${exportName}'`);
  const d = definition as Partial<PluginDefinition>;
  if (typeof d !== 'object' || d === null) throw bad('the export is not an object { category, name, parameters, create }');
  if (!MODULE_CATEGORIES.includes(d.category as PluginCategory)) throw bad(`category must be one of ${MODULE_CATEGORIES.join(', ')}`);
  if (typeof d.name !== 'string' || d.name === '') throw bad('name must be a non-empty string');
  if (typeof d.create !== 'function') throw bad('create must be a function (the plugin factory)');
  const parameters = d.parameters ?? {};
  if (typeof parameters !== 'object' || parameters === null) throw bad('parameters must map names to specs');
  for (const [key, spec] of Object.entries(parameters)) {
    if (!PARAMETER_TYPES.includes((spec as ParameterSpec)?.type)) throw bad(`parameter '${key}' needs a type (${PARAMETER_TYPES.join(', ')})`);
  }
  const create = d.create;
  return {
    category: d.category!,
    name: d.name,
    aliases: [],
    description: d.description ?? `in-house plugin ${d.name}`,
    parameters: parameters as Record<string, ParameterSpec>,
    ...(d.capabilities && { capabilities: d.capabilities }),
    load: () => create as never,
  };
}

function checkCategory(entry: PluginEntry, category: PluginCategory, resolved: string): PluginEntry {
  if (entry.category === category) return entry;
  throw new PluginModuleError(`plugin module ${resolved} defines a ${entry.category} plugin ('${entry.name}'), not a ${category} plugin`);
}
