// What the blueprint loader needs to know of plugins, declared here so that the lowest layer depends on no plugin
// code: the plugins describe themselves in these terms (src/plugins/<kind>/<name>/spec.ts) and src/catalog hands
// the list to the loader. Pure data and types: the loader validates every `type`, parameter and credential with
// it, without loading any plugin's implementation.
import type { CredentialType } from './keys';

/** The kinds of plugin a blueprint names: a section's `type`, or a `dns` section's `provider`. */
export type PluginCategory = 'server' | 'storage' | 'tracking' | 'ca' | 'dns';

export type ParameterType = 'string' | 'boolean' | 'integer' | 'string[]';

export interface ParameterSpec {
  type: ParameterType;
  required?: boolean;
  /** Given to the plugin when the blueprint sets none; shown by the schema, `--help` and README. */
  default?: string | number | boolean | readonly string[];
  enum?: readonly string[];
  minimum?: number;
  maximum?: number;
  /** What is wrong with a value of the right type, phrased to follow its key ("must be host:port"). */
  check?: (value: unknown) => string | undefined;
  /** `$VAR` and `${VAR}` in the value are replaced from the environment at load time (as AutoSSL does for paths). */
  expandEnv?: boolean;
  /** Another name of the parameter `aliasOf` (AutoSSL's): its value is that parameter's. */
  aliasOf?: string;
  description: string;
}

export type ParameterMap = Readonly<Record<string, ParameterSpec>>;

/** The credential a plugin reaches its peer with, checked at load: present when required, of one of the types. */
export interface CredentialRule {
  types: readonly CredentialType[];
  required?: boolean;
}

/** A plugin as the loader sees it. */
export interface PluginDescription {
  category: PluginCategory;
  /** Canonical short name. */
  name: string;
  /** Other names accepted for `type`, AutoSSL class paths first. */
  aliases: readonly string[];
  description: string;
  parameters: ParameterMap;
  credentials?: CredentialRule;
  /** CA kinds that keep files in a storage, what they keep: the CA's `storage`, else the blueprint's, must exist. */
  caStorage?: { holds: string; named?: boolean };
}

export interface PluginCatalog {
  /** The entry a canonical `type` or alias names, or an in-house module's resolved reference (loaded; throws if unfit). */
  find(category: PluginCategory, type: string): PluginDescription | undefined;
  /** The built-in entries of a category, in catalog order. */
  entries(category: PluginCategory): readonly PluginDescription[];
  /** Whether `type` names an in-house module rather than a built-in; such a category accepts none when absent. */
  isModuleReference(category: PluginCategory, type: string): boolean;
  /** The module reference made independent of the file it is written in; throws with a message for the user. */
  resolveModuleReference(type: string, fromFile: string): string;
  /** The CA type of a certificate authority that names none. */
  readonly defaultCaType: string;
}

/** The names and aliases a category accepts, built-ins only. */
export const pluginNames = (catalog: PluginCatalog, category: PluginCategory): string[] =>
  catalog.entries(category).flatMap((e) => [e.name, ...e.aliases]);

type ValueOf<S extends ParameterSpec> = S['type'] extends 'integer'
  ? number
  : S['type'] extends 'boolean'
    ? boolean
    : S['type'] extends 'string[]'
      ? string[]
      : string;

/**
 * The parameters a plugin's factory receives for its specs `P`: checked, AutoSSL's aliases folded into their
 * parameter, defaults applied; so a value with a default or `required` is always there.
 */
export type ParameterValues<P extends ParameterMap> = {
  -readonly [K in keyof P as P[K] extends { aliasOf: string } ? never : K]: P[K] extends { required: true } | { default: unknown }
    ? ValueOf<P[K]>
    : ValueOf<P[K]> | undefined;
};

/** `values` (as the loader checked them) with the defaults of `specs` filled in. */
export function withDefaults(specs: ParameterMap, values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const filled: Record<string, unknown> = { ...values };
  for (const [key, spec] of Object.entries(specs)) {
    if (spec.default !== undefined && filled[key] === undefined) filled[key] = Array.isArray(spec.default) ? [...spec.default] : spec.default;
  }
  return filled;
}
