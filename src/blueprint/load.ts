// Blueprint files (and the optional global config) → validated, normalised `Blueprint`s, or one BlueprintError that
// lists every problem with its file and line. It reads files and nothing else: `check` runs it over every
// blueprint before anything starts, so it loads no plugin code and parses the global config once.
import { pluginNames, type ParameterSpec, type PluginCatalog, type PluginCategory, type PluginDescription } from './catalog';
import { domainProblem, normalizeDomain } from '../x509/domains';
import { RSA_BITS, isRsaBits } from '../x509/keys';
import { BlueprintError } from './errors';
import {
  CERTIFICATE_TYPES,
  CREDENTIAL_TYPES,
  DEFAULTS,
  DEFAULT_KEY_SIZES,
  ECDSA_KEY_SIZES,
  SECTIONS,
  type CredentialType,
  type Field,
  type PrivateKeyType,
  type SectionName,
} from './keys';
import { blueprintFiles, parseFile, parseText, readAll } from './files';
import { didYouMean } from './suggest';
import { expandVariables } from './variables';
import { Issues, isNull, parseYaml, toPlain, type Pos, type TEntry, type TMap, type TNode, type TScalar } from './tree';
import {
  ARTIFACT_KINDS,
  NOTIFY_EVENTS,
  type ArtifactKind,
  type Blueprint,
  type CaStorageSpec,
  type CertificateAuthoritySpec,
  type CertificateSpec,
  type CertificateType,
  type CredentialSpec,
  type DnsSpec,
  type KeySpec,
  type NotifyEventKind,
  type NotifySpec,
  type Organization,
  type PluginSpec,
  type ServerSpec,
  type StorageSpec,
} from './types';

export interface LoadOptions {
  /** A blueprint file, or a folder searched recursively for `*.yaml` and `*.yml`. */
  blueprint: string;
  /** Global config merged under every blueprint (a blueprint key replaces the global one whole). */
  config?: string;
  /** For `${VAR}` in paths; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** The plugins blueprints may name (src/catalog). */
  catalog: PluginCatalog;
}

/** Loads every blueprint, in file-name order. Throws one `BlueprintError` listing every problem found. */
export async function loadBlueprints(opts: LoadOptions): Promise<Blueprint[]> {
  const issues = new Issues();
  const env = opts.env ?? process.env;
  const catalog = opts.catalog;
  const files = await blueprintFiles(issues, opts.blueprint, opts.config);
  let global: Global | undefined;
  let configOk = true;
  if (opts.config !== undefined) {
    const tree = await parseFile(issues, opts.config);
    global = tree && readGlobal({ issues, env, catalog, refs: [] }, tree);
    configOk = global !== undefined;
  }
  const blueprints: Blueprint[] = [];
  const names = new Map<string, Pos>();
  const texts = await readAll(files);
  for (const [i, file] of files.entries()) {
    const tree = parseText(issues, file, texts[i]);
    // Without its global config a blueprint would only show follow-on errors.
    if (!tree || !configOk) continue;
    const built = buildBlueprint({ issues, env, catalog, refs: [] }, tree, file, opts.config, global);
    if (!built) continue;
    const first = names.get(built.blueprint.name);
    if (first) issues.at(built.namePos, `duplicate blueprint name '${built.blueprint.name}' (first in ${place(first)})`);
    else names.set(built.blueprint.name, built.namePos);
    blueprints.push(built.blueprint);
  }
  if (issues.list.length > 0) throw new BlueprintError(issues.list);
  return blueprints;
}

const place = (pos: Pos): string => `${pos.src.file}:${pos.src.lines.linePos(pos.offset).line}`;

// ---------------------------------------------------------------------------------------------------------------
// Sections: known keys, value types, nulls

interface Ctx {
  issues: Issues;
  env: Record<string, string | undefined>;
  catalog: PluginCatalog;
  /** Credential names used by the blueprint being built, checked against `credentials:` at the end. */
  refs: { name: string; pos: Pos; where: string; types?: readonly CredentialType[] }[];
}

/** A mapping reduced to its known keys whose values are set and of the right type. */
interface Fields {
  pos: Pos;
  entries: Map<string, TEntry>;
}

const label = (where: string): string => where || 'the top level';
const join = (where: string, key: string): string => (where ? `${where}.${key}` : key);

function readSection(ctx: Ctx, node: TNode | undefined, section: SectionName, where: string): Fields | undefined {
  if (node === undefined || isNull(node)) return undefined;
  if (node.kind !== 'map') {
    ctx.issues.at(node.pos, `${label(where)} must be a mapping, not ${describe(node)}`);
    return undefined;
  }
  const spec = SECTIONS[section];
  const entries = new Map<string, TEntry>();
  const given = new Set<string>();
  for (const [key, entry] of node.entries) {
    const field = Object.hasOwn(spec, key) ? spec[key] : undefined;
    if (!field) {
      ctx.issues.at(entry.keyPos, `unknown key '${key}' in ${label(where)}${didYouMean(key, Object.keys(spec))}`);
      continue;
    }
    // A null keeps the default, as in AutoSSL.
    if (isNull(entry.value)) continue;
    given.add(key);
    if (checkValue(ctx, field, entry.value, join(where, key))) entries.set(key, entry);
  }
  for (const [key, field] of Object.entries(spec)) {
    if ('required' in field && field.required && !given.has(key)) ctx.issues.at(node.pos, `missing ${key} in ${label(where)}`);
  }
  return { pos: node.pos, entries };
}

/** Each mapping of a list section; an empty item is reported, not skipped silently. */
function readItems(ctx: Ctx, node: TNode | undefined, section: SectionName, where: string): { fields: Fields; where: string; index: number }[] {
  if (node?.kind !== 'seq') return [];
  return node.items.flatMap((item, index) => {
    const at = `${where}[${index}]`;
    if (isNull(item)) ctx.issues.at(item.pos, `${at} is empty`);
    const fields = readSection(ctx, item, section, at);
    return fields ? [{ fields, where: at, index }] : [];
  });
}

function checkValue(ctx: Ctx, field: Field, node: TNode, where: string): boolean {
  const bad = (message: string): false => {
    ctx.issues.at(node.pos, message);
    return false;
  };
  switch (field.kind) {
    case 'string':
    case 'plugin': {
      if (node.kind !== 'scalar' || typeof node.value !== 'string') {
        const quote = node.kind === 'scalar' && typeof node.value === 'number' ? ' (put it in quotes)' : '';
        return bad(`${where} must be text, not ${describe(node)}${quote}`);
      }
      if (field.kind === 'plugin') {
        const { catalog } = ctx;
        // An in-house module is loaded, and reported if unfit, once: by readPlugin.
        if (catalog.isModuleReference(field.category, node.value)) return true;
        if (catalog.find(field.category, node.value)) return true;
        const known = pluginNames(catalog, field.category);
        const hint = didYouMean(node.value, known);
        // A `type` reads as a kind of thing; a DNS `provider` as a choice among names.
        if (!where.endsWith('.type')) return bad(`${where} is '${node.value}'; expect one of ${known.join(', ')}${hint}`);
        return bad(`unknown ${CATEGORY_NAMES[field.category]} type '${node.value}' in ${where}; expect one of ${known.join(', ')}${hint}`);
      }
      return field.enum === undefined || oneOf(field.enum, node.value, bad, where);
    }
    case 'integer':
      if (node.kind !== 'scalar' || !Number.isInteger(node.value)) return bad(`${where} must be an integer, not ${describe(node)}`);
      if (field.minimum !== undefined && (node.value as number) < field.minimum) return bad(`${where} must be ${field.minimum} or more`);
      if (field.maximum !== undefined && (node.value as number) > field.maximum) return bad(`${where} must be ${field.maximum} or less`);
      return field.enum === undefined || oneOf(field.enum, node.value as number, bad, where);
    case 'boolean':
      return (node.kind === 'scalar' && typeof node.value === 'boolean') || bad(`${where} must be true or false, not ${describe(node)}`);
    case 'strings': {
      if (node.kind !== 'seq') {
        const single = node.kind === 'scalar' && typeof node.value === 'string' ? ' (write a single value as a list of one)' : '';
        return bad(`${where} must be a list, not ${describe(node)}${single}`);
      }
      // A bad item is reported and left out; the others are still checked (domains, chains).
      const item: Field = { kind: 'string', enum: field.enum, description: field.description };
      node.items.forEach((n, i) => checkValue(ctx, item, n, `${where}[${i}]`));
      return true;
    }
    case 'sections':
      return node.kind === 'seq' || bad(`${where} must be a list, not ${describe(node)}`);
    case 'command': {
      if (node.kind === 'scalar' && typeof node.value === 'string' && node.value.trim()) return true;
      const args = node.kind === 'seq' && node.items.length > 0 && node.items.every((n) => n.kind === 'scalar' && typeof n.value === 'string');
      return args || bad(`${where} must be a command line or a non-empty list of arguments, not ${describe(node)}`);
    }
    case 'servers':
      return node.kind !== 'scalar' || bad(`${where} must be a list of servers, not ${describe(node)}`);
    case 'parameters':
    case 'mapping':
    case 'section':
    case 'named':
      return node.kind === 'map' || bad(`${where} must be a mapping, not ${describe(node)}`);
  }
}

function oneOf<T extends string | number>(allowed: readonly T[], value: T, bad: (m: string) => false, where: string): boolean {
  if (allowed.includes(value)) return true;
  return bad(`${where} is '${value}'; expect one of ${allowed.join(', ')}${didYouMean(String(value), allowed.map(String))}`);
}

/** What a value is, without repeating it: a wrong value may be something secret pasted in the wrong place. */
function describe(node: TNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'empty';
  if (typeof node.value === 'boolean') return String(node.value);
  return typeof node.value === 'number' ? 'a number' : 'text';
}

const CATEGORY_NAMES: Record<PluginCategory, string> = {
  server: 'server',
  storage: 'storage',
  tracking: 'tracking',
  ca: 'certificate authority',
  dns: 'dns provider',
};

const entryValue = (f: Fields | undefined, key: string): TNode | undefined => f?.entries.get(key)?.value;

function scalar<T extends string | number | boolean>(f: Fields | undefined, key: string): T | undefined {
  const node = entryValue(f, key);
  return node?.kind === 'scalar' ? (node.value as T) : undefined;
}

type TText = TScalar & { value: string };

/** The text items of a checked `strings` value (bad items are reported already). */
function textItems(node: TNode | undefined): TText[] | undefined {
  return node?.kind === 'seq' ? node.items.filter((n): n is TText => n.kind === 'scalar' && typeof n.value === 'string') : undefined;
}

const strings = (f: Fields | undefined, key: string): TText[] | undefined => textItems(entryValue(f, key));

// ---------------------------------------------------------------------------------------------------------------
// Plugins and their parameters

const PARAMETER_KINDS = { string: 'string', boolean: 'boolean', integer: 'integer', 'string[]': 'strings' } as const;

/** The plugin part of a section: its type (resolved through the catalog), parameters and credential. */
function readPlugin(ctx: Ctx, f: Fields, category: PluginCategory, where: string, implicit: readonly string[] = [], defaultType = ''): PluginSpec {
  const declaredType = scalar<string>(f, 'type') ?? defaultType;
  const { entry, type } = pluginOf(ctx, category, declaredType, entryValue(f, 'type')?.pos, join(where, 'type'));
  const credentials = readCredentialRef(ctx, f, entry, where);
  const credentialsParameters = entryValue(f, 'credentials_parameters');
  return {
    type,
    declaredType,
    parameters: readParameters(ctx, entry, f, where, implicit),
    ...(credentials !== undefined && { credentials }),
    ...(credentialsParameters && { credentialsParameters: toPlain(credentialsParameters) as Record<string, unknown> }),
  };
}

/**
 * The catalog entry a `type` names and the type as the worker finds it: a built-in's short name, or an in-house
 * module's reference resolved from the folder of the file it is written in (a blueprint or the global config) and
 * loaded here; a module that is missing or unfit is reported at its `type`.
 */
function pluginOf(
  ctx: Ctx,
  category: PluginCategory,
  declared: string,
  pos: Pos | undefined,
  where: string,
): { entry: PluginDescription | undefined; type: string } {
  const { catalog } = ctx;
  if (!pos || !catalog.isModuleReference(category, declared)) {
    const entry = catalog.find(category, declared);
    return { entry, type: entry?.name ?? declared };
  }
  try {
    const type = catalog.resolveModuleReference(declared, pos.src.file);
    return { entry: catalog.find(category, type), type };
  } catch (err) {
    ctx.issues.at(pos, `${where}: ${(err as Error).message}`);
    return { entry: undefined, type: declared };
  }
}

const owner = (entry: PluginDescription): string => `${CATEGORY_NAMES[entry.category]}${entry.category === 'dns' ? '' : ' type'} '${entry.name}'`;

/** The section's `credentials` name, queued for the check against `credentials:` with the types the plugin takes. */
function readCredentialRef(ctx: Ctx, f: Fields, entry: PluginDescription | undefined, where: string): string | undefined {
  const name = scalar<string>(f, 'credentials');
  const rule = entry?.credentials;
  if (name !== undefined) ctx.refs.push({ name, pos: entryValue(f, 'credentials')!.pos, where, ...(rule && { types: rule.types }) });
  else if (rule?.required) ctx.issues.at(f.pos, `missing credentials in ${where}: ${owner(entry!)} needs a ${rule.types.join(' or ')} credential`);
  return name;
}

/**
 * Checks `parameters` against the plugin's specs and expands `$VAR`s where a spec asks for it. `implicit` names
 * parameters the section gives another way (a server's `host`). A parameter's AutoSSL name gives its value.
 */
function readParameters(
  ctx: Ctx,
  entry: PluginDescription | undefined,
  f: Fields,
  where: string,
  implicit: readonly string[],
): Record<string, unknown> {
  const node = entryValue(f, 'parameters') as TMap | undefined;
  // An unknown type is already reported; its parameters cannot be judged.
  if (!entry) return node ? (toPlain(node) as Record<string, unknown>) : {};
  const at = join(where, 'parameters');
  const known = entry.parameters;
  const values: [string, unknown][] = [];
  const given = new Set(implicit);
  for (const [key, { keyPos, value }] of node?.entries ?? []) {
    const spec: ParameterSpec | undefined = Object.hasOwn(known, key) ? known[key] : undefined;
    if (!spec) {
      ctx.issues.at(keyPos, `unknown parameter '${key}' in ${at} of ${owner(entry)}${didYouMean(key, Object.keys(known))}`);
      continue;
    }
    if (isNull(value)) continue;
    const name = spec.aliasOf ?? key;
    if (given.has(name)) {
      ctx.issues.at(keyPos, `${join(at, key)} is another name of ${name}, given too: keep one`);
      continue;
    }
    given.add(name);
    const field = {
      kind: PARAMETER_KINDS[spec.type],
      description: spec.description,
      enum: spec.enum,
      minimum: spec.minimum,
      maximum: spec.maximum,
    } as Field;
    if (!checkValue(ctx, field, value, join(at, key))) continue;
    const plain = toPlain(value);
    const problem = spec.check?.(plain);
    if (problem) {
      ctx.issues.at(value.pos, `${join(at, key)} ${problem}`);
      continue;
    }
    values.push([name, spec.expandEnv ? expandEnv(ctx, plain, value.pos, join(at, key)) : plain]);
  }
  for (const [key, spec] of Object.entries(known)) {
    if (spec.required && !given.has(key)) ctx.issues.at(node?.pos ?? f.pos, `missing parameter '${key}' in ${at} (required by ${owner(entry)})`);
  }
  return Object.fromEntries(values);
}

function expandEnv(ctx: Ctx, value: unknown, pos: Pos, where: string): unknown {
  if (Array.isArray(value)) return value.map((v) => expandEnv(ctx, v, pos, where));
  if (typeof value !== 'string') return value;
  return expandVariables(
    value,
    (name) => ctx.env[name],
    (reference, name) => {
      ctx.issues.at(pos, `${where} uses ${reference} but the environment variable ${name} is not set`);
      return reference;
    },
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Global config and blueprint

interface Global {
  top: Fields;
  /** `servers: {placeholder: [host, ...]}` of the global config. */
  placeholders: Map<string, string[]>;
}

function readGlobal(ctx: Ctx, tree: TNode): Global | undefined {
  if (isNull(tree)) return { top: { pos: tree.pos, entries: new Map() }, placeholders: new Map() };
  if (tree.kind !== 'map') {
    ctx.issues.at(tree.pos, `the global config must be a mapping, not ${describe(tree)}`);
    return undefined;
  }
  const top = readSection(ctx, tree, 'top', '')!;
  const placeholders = new Map<string, string[]>();
  const servers = entryValue(top, 'servers');
  if (servers?.kind === 'map') {
    // A placeholder map is not a server list: it is not merged, only used to expand blueprint servers.
    top.entries.delete('servers');
    for (const [placeholder, { value }] of servers.entries) {
      if (checkValue(ctx, { kind: 'strings', description: '' }, value, `servers.${placeholder}`)) {
        placeholders.set(
          placeholder,
          textItems(value)!.map((item) => item.value),
        );
      }
    }
  }
  return { top, placeholders };
}

// Names become file names (`<name>.crt`) and workflow ids: no path separators, no leading dot.
const FILE_STEM = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,199}$/;
const STEM_RULE = 'may hold only letters, digits, dots, dashes and underscores, and not start with a dot';

function buildBlueprint(
  ctx: Ctx,
  tree: TNode,
  file: string,
  config: string | undefined,
  global: Global | undefined,
): { blueprint: Blueprint; namePos: Pos } | undefined {
  if (tree.kind !== 'map') {
    const shape = `a blueprint must be a mapping (name:, certificate:, ...), not ${describe(tree)}`;
    ctx.issues.at(tree.pos, isNull(tree) ? 'the file is empty; expected a blueprint' : shape);
    return undefined;
  }
  const own = readSection(ctx, tree, 'top', '')!;
  // Shallow merge: a top-level key of the blueprint replaces the global one whole.
  const top: Fields = { pos: own.pos, entries: new Map([...(global?.top.entries ?? []), ...own.entries]) };

  const name = scalar<string>(top, 'name');
  const namePos = entryValue(top, 'name')?.pos ?? tree.pos;
  if (name === undefined) ctx.issues.at(tree.pos, 'missing name: every blueprint names its certificate');
  else if (!FILE_STEM.test(name)) ctx.issues.at(namePos, `name '${name}' ${STEM_RULE} (it names files and the workflow)`);

  const credentialsNode = entryValue(top, 'credentials');
  const credentials = readCredentials(ctx, credentialsNode);
  const organization = readOrganization(ctx, entryValue(top, 'organization'), 'organization');
  const casNode = entryValue(top, 'certificate_authorities');
  const caPlaces = new Map<string, CaPlace>();
  const cas = readCertificateAuthorities(ctx, casNode, caPlaces);
  const certificate = readCertificate(ctx, readSection(ctx, entryValue(top, 'certificate'), 'certificate', 'certificate'), tree.pos, {
    organization,
    cas,
    casDeclared: casNode !== undefined,
  });
  const servers = readServers(ctx, entryValue(top, 'servers'), name ?? '', global?.placeholders ?? new Map());
  const storage = readStorage(ctx, entryValue(top, 'storage'), 'storage');
  inheritCaStorage(ctx, cas, caPlaces, storage, { ca: certificate?.certificateAuthority, blueprint: name });
  const tracking = readStorage(ctx, entryValue(top, 'tracking'), 'tracking');
  const notify = readNotify(ctx, entryValue(top, 'notify'));

  // Rule 7: every credential named is declared (its type was checked with `credentials:`).
  const declared = credentialsNode?.kind === 'map' ? [...credentialsNode.entries.keys()] : [];
  for (const ref of ctx.refs) {
    if (!declared.includes(ref.name)) {
      ctx.issues.at(ref.pos, `credential '${ref.name}' of ${ref.where} is missing from credentials:${didYouMean(ref.name, declared)}`);
    } else if (ref.types && credentials[ref.name] && !ref.types.includes(credentials[ref.name].type)) {
      ctx.issues.at(ref.pos, `credential '${ref.name}' of ${ref.where} is ${credentials[ref.name].type}; expect type ${ref.types.join(' or ')}`);
    }
  }

  if (name === undefined || !certificate) return undefined;
  const blueprint: Blueprint = {
    name,
    source: { blueprint: file, ...(config !== undefined && { config }) },
    servers,
    certificate,
    ...(organization && { organization }),
    certificateAuthorities: [...cas.values()],
    ...(storage && { storage }),
    ...(tracking && { tracking }),
    ...(notify && { notify }),
    credentials,
  };
  return { blueprint, namePos };
}

function readCredentials(ctx: Ctx, node: TNode | undefined): Record<string, CredentialSpec> {
  if (node?.kind !== 'map') return {};
  const specs: [string, CredentialSpec][] = [];
  for (const [name, { keyPos, value }] of node.entries) {
    const where = `credentials.${name}`;
    if (isNull(value)) ctx.issues.at(keyPos, `${where} is empty; give it a type (${CREDENTIAL_TYPES.join(', ')})`);
    const f = readSection(ctx, value, 'credential', where);
    const type = scalar<CredentialType>(f, 'type');
    const separator = scalar<string>(f, 'separator') ?? DEFAULTS.separator;
    if (separator === '') ctx.issues.at(entryValue(f, 'separator')!.pos, `${where}.separator must not be empty`);
    if (type) specs.push([name, { type, separator }]);
  }
  return Object.fromEntries(specs);
}

function readOrganization(ctx: Ctx, node: TNode | undefined, where: string): Organization | undefined {
  const f = readSection(ctx, node, 'organization', where);
  if (!f || f.entries.size === 0) return undefined;
  const country = scalar<string>(f, 'country_code');
  if (country !== undefined && !/^[A-Za-z]{2}$/.test(country)) {
    ctx.issues.at(entryValue(f, 'country_code')!.pos, `${where}.country_code must be a two-letter ISO 3166 code such as US`);
  }
  return Object.fromEntries([...f.entries].map(([key, e]) => [key, (e.value as TScalar).value])) as Organization;
}

/** Where a CA was declared, for what can only be judged once the blueprint's own storage is known. */
interface CaPlace {
  pos: Pos;
  where: string;
}

function readCertificateAuthorities(ctx: Ctx, node: TNode | undefined, places: Map<string, CaPlace>): Map<string, CertificateAuthoritySpec> {
  const cas = new Map<string, CertificateAuthoritySpec>();
  const seen = new Map<string, string>();
  for (const { fields: f, where } of readItems(ctx, node, 'certificateAuthority', 'certificate_authorities')) {
    const key = scalar<string>(f, 'key');
    const { type, declaredType, parameters } = readPlugin(ctx, f, 'ca', where, [], ctx.catalog.defaultCaType);
    const acme = readSection(ctx, entryValue(f, 'acme_api'), 'acmeApi', `${where}.acme_api`);
    for (const [stage, { value }] of acme?.entries ?? []) {
      const url = (value as TText).value;
      if (!/^https?:\/\/\S+$/.test(url)) ctx.issues.at(value.pos, `${where}.acme_api.${stage} must be an http(s) URL`);
    }
    const contactEmail = scalar<string>(f, 'contact_email');
    const storage = readCaStorage(ctx, entryValue(f, 'storage'), `${where}.storage`);
    const dns = readDns(ctx, entryValue(f, 'dns'), `${where}.dns`);
    if (key === undefined) continue;
    if (seen.has(key)) {
      ctx.issues.at(entryValue(f, 'key')!.pos, `duplicate certificate authority key '${key}' (also ${seen.get(key)})`);
      continue;
    }
    seen.set(key, where);
    places.set(key, { pos: f.pos, where });
    cas.set(key, {
      name: scalar<string>(f, 'name') ?? key,
      key,
      type,
      declaredType,
      certificateTypes: (strings(f, 'certificate_types')?.map((s) => s.value) as CertificateType[] | undefined) ?? [...CERTIFICATE_TYPES],
      ...(acme && { acmeApi: Object.fromEntries([...acme.entries].map(([k, e]) => [k, (e.value as TScalar).value])) }),
      ...(contactEmail !== undefined && { contactEmail }),
      ...(storage && { storage }),
      chainOfTrust: readChain(ctx, f, where),
      parameters,
      ...(dns && { dns }),
    });
  }
  return cas;
}

function readDns(ctx: Ctx, node: TNode | undefined, where: string): DnsSpec | undefined {
  const f = readSection(ctx, node, 'dns', where);
  if (!f) return undefined;
  // An unknown provider is reported by the check of `provider`.
  const provider = ctx.catalog.find('dns', scalar<string>(f, 'provider') ?? '');
  const credentials = readCredentialRef(ctx, f, provider, where);
  const parameters = readParameters(ctx, provider, f, where, []);
  if (!provider) return undefined;
  return { provider: provider.name, parameters, ...(credentials !== undefined && { credentials }) };
}

/**
 * A CA's own storage. Without a `type` (as AutoSSL allows) it holds only the `name` of the CA's file, which then
 * lives in the blueprint's storage (`type: ''` until `inheritCaStorage` fills it in).
 */
function readCaStorage(ctx: Ctx, node: TNode | undefined, where: string): CaStorageSpec | undefined {
  const f = readSection(ctx, node, 'caStorage', where);
  if (!f) return undefined;
  const name = scalar<string>(f, 'name');
  if (name !== undefined && !FILE_STEM.test(name)) ctx.issues.at(entryValue(f, 'name')!.pos, `${where}.name '${name}' ${STEM_RULE}`);
  // A type written but refused (reported already) is no request for the blueprint's storage.
  const typed = node?.kind === 'map' && node.entries.has('type') && !isNull(node.entries.get('type')!.value);
  if (!typed) {
    for (const key of ['parameters', 'credentials'].filter((k) => f.entries.has(k))) {
      ctx.issues.at(
        f.entries.get(key)!.keyPos,
        `${where}.${key} without a type: give the storage's type, or drop ${key} to use the blueprint's storage`,
      );
    }
    return { type: '', declaredType: '', parameters: {}, ...(name !== undefined && { name }) };
  }
  return { ...readPlugin(ctx, f, 'storage', where), ...(name !== undefined && { name }) };
}

/**
 * A CA keeping files in a storage (its catalogue entry says so) without one of its own uses the blueprint's, as in
 * AutoSSL. The certificate's CA must end up with one (and with the `storage.name` it needs): that is an error
 * here, with the CA's place, not a failed renewal later.
 */
function inheritCaStorage(
  ctx: Ctx,
  cas: Map<string, CertificateAuthoritySpec>,
  places: Map<string, CaPlace>,
  storage: StorageSpec | undefined,
  used: { ca?: string; blueprint?: string },
): void {
  for (const [key, ca] of cas) {
    const needs = ctx.catalog.find('ca', ca.type)?.caStorage;
    const own = ca.storage?.type ? ca.storage : undefined;
    const name = ca.storage?.name;
    if (needs && !own && storage) {
      const { data: _data, ...inherited } = storage;
      ca.storage = { ...inherited, ...(name !== undefined && { name }) };
    } else if (!own) {
      delete ca.storage;
    }
    const place = places.get(key);
    if (!needs || key !== used.ca || !place) continue;
    const what = `certificate authority '${key}' (${ca.type})`;
    if (!own && !storage) {
      ctx.issues.at(
        place.pos,
        `${what} keeps ${needs.holds} in a storage, but neither it nor blueprint '${used.blueprint ?? ''}' has one: add storage: to either`,
      );
    } else if (needs.named && name === undefined) {
      ctx.issues.at(place.pos, `${place.where}.storage.name is missing: ${what} keeps ${needs.holds} in the file of that name (e.g. account.key)`);
    }
  }
}

function readStorage(ctx: Ctx, node: TNode | undefined, section: 'storage' | 'tracking'): StorageSpec | undefined {
  const f = readSection(ctx, node, section, section);
  if (!f) return undefined;
  const items = readItems(ctx, entryValue(f, 'data'), 'data', `${section}.data`);
  const kinds = new Set(items.map(({ fields }) => scalar<ArtifactKind>(fields, 'type')));
  const data = ARTIFACT_KINDS.filter((k) => kinds.has(k));
  return { ...readPlugin(ctx, f, section, section), data: data.length > 0 ? data : [...ARTIFACT_KINDS] };
}

function readNotify(ctx: Ctx, node: TNode | undefined): NotifySpec | undefined {
  const f = readSection(ctx, node, 'notify', 'notify');
  if (!f) return undefined;
  const hook = readSection(ctx, entryValue(f, 'webhook'), 'webhook', 'notify.webhook');
  const url = scalar<string>(hook, 'url');
  // Checked as written: a $VAR (a token kept out of history) is expanded on the worker.
  if (url !== undefined && !/^(https?:\/\/|\$\{?[A-Za-z_])\S+$/.test(url)) {
    ctx.issues.at(entryValue(hook, 'url')!.pos, 'notify.webhook.url must be an http(s) URL (or a ${VAR} holding one)');
  }
  const headersNode = entryValue(hook, 'headers');
  const headers: Record<string, string> = {};
  for (const [name, { keyPos, value }] of headersNode?.kind === 'map' ? headersNode.entries : []) {
    if (value.kind === 'scalar' && (typeof value.value === 'string' || typeof value.value === 'number')) headers[name] = String(value.value);
    else ctx.issues.at(value.pos, `notify.webhook.headers.${name} must be text, not ${describe(value)}`);
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) ctx.issues.at(keyPos, `notify.webhook.headers: '${name}' is not a valid header name`);
  }
  const commandNode = entryValue(f, 'command');
  const command = commandNode?.kind === 'scalar' ? ['sh', '-c', String(commandNode.value)] : textItems(commandNode)?.map((item) => item.value);
  if (!url && !command) ctx.issues.at(f.pos, 'notify needs a webhook or a command (or both)');
  return {
    ...(url !== undefined && { webhook: { url, headers } }),
    ...(command && { command }),
    events: (strings(f, 'events')?.map((s) => s.value) as NotifyEventKind[] | undefined) ?? [...NOTIFY_EVENTS],
    reminderIntervalHours: scalar<number>(f, 'reminder_interval_hours') ?? DEFAULTS.reminderIntervalHours,
  };
}

function readChain(ctx: Ctx, f: Fields, where: string): string[] {
  const items = strings(f, 'chain_of_trust') ?? [];
  for (const [i, item] of items.entries()) {
    if (!item.value.includes('-----BEGIN CERTIFICATE-----')) {
      ctx.issues.at(item.pos, `${where}.chain_of_trust[${i}] must be a PEM certificate (-----BEGIN CERTIFICATE-----)`);
    }
  }
  return items.map((item) => item.value);
}

// ---------------------------------------------------------------------------------------------------------------
// Certificate: AutoSSL's validation rules 1-6, in its order (rule 5 is the integer check of renewal_delay)

interface CertificateContext {
  organization?: Organization;
  cas: Map<string, CertificateAuthoritySpec>;
  /** False when no `certificate_authorities` exist at all: AutoSSL then treats the named CA as manual. */
  casDeclared: boolean;
}

function readCertificate(ctx: Ctx, f: Fields | undefined, blueprintPos: Pos, c: CertificateContext): CertificateSpec | undefined {
  if (!f) {
    ctx.issues.at(blueprintPos, 'missing certificate');
    return undefined;
  }
  const issue = (key: string | undefined, message: string) => ctx.issues.at((key && entryValue(f, key)?.pos) || f.pos, message);
  const type = scalar<CertificateType>(f, 'type');
  const caKey = scalar<string>(f, 'certificate_authority');
  const organization = readOrganization(ctx, entryValue(f, 'organization'), 'certificate.organization') ?? c.organization;
  const commonName = entryValue(f, 'common_name') as TText | undefined;
  const san = strings(f, 'san') ?? [];

  // 1. The CA is one of certificate_authorities.
  if (caKey !== undefined && !c.casDeclared) c.cas.set(caKey, implicitManualCa(ctx.catalog.defaultCaType, caKey));
  const ca = caKey === undefined ? undefined : c.cas.get(caKey);
  const known = `[${[...c.cas.keys()].join(', ')}]`;
  if (caKey === undefined) issue(undefined, `missing certificate_authority in certificate; expect one of ${known}`);
  else if (!ca) {
    issue('certificate_authority', `Certificate authority '${caKey}' is not supported. Expect one of ${known}.${didYouMean(caKey, c.cas.keys())}`);
  }
  // 2. OV and EV (and a certificate without type) name an organisation.
  if (type !== 'DV' && !organization) {
    issue('type', `certificate type ${type ?? '(none)'} needs an organization (certificate.organization or the top-level organization)`);
  }
  // 3. At least one domain.
  if (!commonName && san.length === 0) issue(undefined, 'certificate needs a common_name or a san');
  // 4. Every domain is a host name or a wildcard host name.
  const named = [
    ...(commonName ? [{ node: commonName, where: 'certificate.common_name' }] : []),
    ...san.map((node) => ({ node, where: 'certificate.san' })),
  ];
  const normalized = named.map(({ node, where }) => {
    // Surrounding spaces are a typo in a quoted name, not something to trim silently (AutoSSL refuses them too).
    const padded = node.value.trim() !== node.value;
    const domain = padded ? null : normalizeDomain(node.value);
    if (domain === null) {
      const why = padded ? 'it has spaces around it' : domainProblem(node.value);
      ctx.issues.at(node.pos, `${where} '${node.value}' is not a host name or *.wildcard host name: ${why}`);
    }
    return domain;
  });
  const cn = commonName ? normalized[0] : null;
  if (cn && cn.length > 64) {
    ctx.issues.at(commonName!.pos, 'certificate.common_name is longer than the 64 characters X.509 allows; put the name in san only');
  }
  // 6. The CA issues this certificate type.
  if (ca && !(type && ca.certificateTypes.includes(type))) {
    const issued = ca.certificateTypes.join(', ');
    issue('type', `Certificate type ${type ?? '(none)'} is not supported by certificate authority '${ca.key}'. Expect one of [${issued}].`);
  }

  const chain = readChain(ctx, f, 'certificate');
  const key = readKeySpec(ctx, f);
  const profile = scalar<string>(f, 'profile');
  const dns = readDns(ctx, entryValue(f, 'dns'), 'certificate.dns');
  // Without a type or a CA an issue is already reported.
  if (type === undefined || caKey === undefined) return undefined;
  return {
    type,
    certificateAuthority: caKey,
    ...(cn && { commonName: cn }),
    domains: unique(normalized),
    san: unique(normalized.slice(commonName ? 1 : 0)),
    renewalDelayDays: scalar<number>(f, 'renewal_delay') ?? DEFAULTS.renewalDelayDays,
    exactMatch: scalar<boolean>(f, 'exact_match') ?? DEFAULTS.exactMatch,
    privateKeyReuse: scalar<boolean>(f, 'private_key_reuse') ?? DEFAULTS.privateKeyReuse,
    key,
    ...(organization && { organization }),
    chainOfTrust: chain.length > 0 ? chain : (ca?.chainOfTrust ?? []),
    isCa: scalar<boolean>(f, 'is_ca') ?? DEFAULTS.isCa,
    ...(profile !== undefined && { profile }),
    ...(dns && { dns }),
  };
}

const unique = (names: (string | null)[]): string[] => [...new Set(names.filter((n): n is string => n !== null))];

function implicitManualCa(type: string, key: string): CertificateAuthoritySpec {
  return { name: key, key, type, declaredType: type, certificateTypes: [...CERTIFICATE_TYPES], chainOfTrust: [], parameters: {} };
}

function readKeySpec(ctx: Ctx, f: Fields): KeySpec {
  const type = scalar<PrivateKeyType>(f, 'private_key_type') ?? DEFAULTS.privateKeyType;
  const written = scalar<number>(f, 'private_key_size') ?? DEFAULT_KEY_SIZES[type];
  const fits = type === 'ECDSA' ? ECDSA_KEY_SIZES.includes(written) : isRsaBits(written);
  if (!fits) {
    const expected =
      type === 'ECDSA'
        ? `expect one of ${ECDSA_KEY_SIZES.join(', ')}`
        : `expect ${RSA_BITS.min} to ${RSA_BITS.max} bits, a multiple of ${RSA_BITS.multipleOf}: CAs refuse smaller RSA keys, ` +
          `the CA/Browser Forum asks for whole bytes, and OpenSSL verifies none larger`;
    ctx.issues.at(
      entryValue(f, 'private_key_size')!.pos,
      `certificate.private_key_size ${written} does not fit private_key_type ${type}; ${expected}`,
    );
  }
  const size = fits ? written : DEFAULT_KEY_SIZES[type];
  return type === 'ECDSA' ? { type: 'ec', curve: size === 384 ? 'P-384' : 'P-256' } : { type: 'rsa', bits: size };
}

// ---------------------------------------------------------------------------------------------------------------
// Servers

function readServers(ctx: Ctx, node: TNode | undefined, blueprintName: string, placeholders: Map<string, string[]>): ServerSpec[] {
  if (node?.kind === 'map') {
    ctx.issues.at(node.pos, 'servers must be a list; a map of host placeholders belongs in the global config (--config)');
    return [];
  }
  const servers: ServerSpec[] = [];
  const ids = new Set<string>();
  for (const { fields: f, where, index } of readItems(ctx, node, 'server', 'servers')) {
    const host = scalar<string>(f, 'host');
    const plugin = readPlugin(ctx, f, 'server', where, host === undefined ? [] : ['host']);
    const crtName = plugin.parameters.crt_name;
    if (typeof crtName === 'string' && !FILE_STEM.test(crtName)) {
      const pos = (entryValue(f, 'parameters') as TMap).entries.get('crt_name')!.value.pos;
      ctx.issues.at(pos, `${where}.parameters.crt_name '${crtName}' ${STEM_RULE}`);
    }
    // `parameters` win over the server's own `host`; a global placeholder stands for several hosts.
    const written = typeof plugin.parameters.host === 'string' ? plugin.parameters.host : host;
    for (const actual of (written !== undefined && placeholders.get(written)) || [written]) {
      const parameters: Record<string, unknown> = { ...plugin.parameters, ...('host' in plugin.parameters && { host: actual }) };
      const location = typeof parameters.path === 'string' ? parameters.path : index;
      const id = uniqueId(ids, `${plugin.type}:${actual === undefined ? '' : `${actual}:`}${location}`);
      servers.push({
        ...plugin,
        parameters,
        id,
        ...(actual !== undefined && { host: actual }),
        crtName: typeof crtName === 'string' ? crtName : blueprintName,
      });
    }
  }
  return servers;
}

function uniqueId(taken: Set<string>, id: string): string {
  let unique = id;
  for (let n = 2; taken.has(unique); n++) unique = `${id}#${n}`;
  taken.add(unique);
  return unique;
}
