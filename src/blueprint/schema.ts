// JSON Schema (draft 2020-12) of blueprints and global configs, rendered from the key descriptions the loader
// checks against and from the plugin catalog, for editors (yaml-language-server) to validate and complete.
// Regenerate schema/blueprint.schema.json with: node dist/src/catalog/schema.js > schema/blueprint.schema.json
import { pluginNames, type ParameterSpec, type PluginCatalog, type PluginCategory } from './catalog';
import { SECTIONS, type Field, type Section, type SectionName } from './keys';

type Schema = Record<string, unknown>;

export function blueprintSchema(catalog: PluginCatalog): Schema {
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'autossl blueprint',
    description: 'A certificate blueprint or the global config (--config) merged under every blueprint.',
    ...sectionSchema(catalog, 'top'),
    $defs: Object.fromEntries((Object.keys(SECTIONS) as SectionName[]).filter((n) => n !== 'top').map((n) => [n, sectionSchema(catalog, n)])),
  };
}

/** The committed file's exact text. */
export function renderBlueprintSchema(catalog: PluginCatalog): string {
  return `${JSON.stringify(blueprintSchema(catalog), null, 2)}\n`;
}

function sectionSchema(catalog: PluginCatalog, name: SectionName): Schema {
  const section: Section = SECTIONS[name];
  const required = Object.keys(section).filter((k) => isRequired(section[k]));
  const plugin = Object.values(section).find((f) => f.kind === 'plugin');
  const conditions = plugin?.kind === 'plugin' && 'parameters' in section ? pluginConditions(catalog, plugin.category, name) : [];
  return {
    type: 'object',
    additionalProperties: false,
    properties: Object.fromEntries(Object.entries(section).map(([key, field]) => [key, fieldSchema(catalog, field, !isRequired(field))])),
    ...(required.length > 0 && { required }),
    ...(conditions.length > 0 && { allOf: conditions }),
  };
}

const isRequired = (field: Field): boolean => 'required' in field && field.required === true;

/** A YAML null keeps the default, so every optional value may be null. */
function fieldSchema(catalog: PluginCatalog, field: Field, nullable: boolean): Schema {
  const { description } = field;
  const ref = (section: SectionName): Schema => ({ $ref: `#/$defs/${section}` });
  const text = (enumeration?: readonly (string | number)[]): Schema => (enumeration ? { enum: enumeration } : { type: 'string' });
  let schema: Schema;
  switch (field.kind) {
    case 'string':
      schema = { ...text(field.enum), ...(field.default !== undefined && { default: field.default }) };
      break;
    case 'integer':
      schema = {
        type: 'integer',
        ...(field.enum && { enum: field.enum }),
        ...(field.minimum !== undefined && { minimum: field.minimum }),
        ...(field.maximum !== undefined && { maximum: field.maximum }),
        ...(field.default !== undefined && { default: field.default }),
      };
      break;
    case 'boolean':
      schema = { type: 'boolean', default: field.default };
      break;
    case 'strings':
      schema = { type: 'array', items: text(field.enum), ...(field.default && { default: field.default }) };
      break;
    case 'plugin': {
      const names = { enum: pluginNames(catalog, field.category) };
      const modules = catalog.isModuleReference(field.category, './x.js');
      const module = {
        type: 'string',
        pattern: '^\\.{1,2}/|^/|#',
        description: 'An in-house plugin module: ./path.js, /path.js or package, with #export.',
      };
      schema = { ...(modules ? { anyOf: [names, module] } : names), ...(field.default && { default: field.default }) };
      break;
    }
    case 'parameters':
    case 'mapping':
      schema = { type: 'object' };
      break;
    case 'command':
      schema = {
        anyOf: [
          { type: 'string', minLength: 1 },
          { type: 'array', items: { type: 'string' }, minItems: 1 },
        ],
      };
      break;
    case 'section':
      schema = ref(field.section);
      break;
    case 'sections':
      schema = { type: 'array', items: ref(field.section) };
      break;
    case 'named':
      schema = { type: 'object', additionalProperties: ref(field.section) };
      break;
    case 'servers':
      schema = {
        anyOf: [
          { type: 'array', items: ref('server') },
          {
            type: 'object',
            description: 'Global config only: host placeholders, each standing for a list of hosts.',
            additionalProperties: { type: 'array', items: { type: 'string' } },
          },
        ],
      };
      break;
  }
  return { description, ...orNull(schema, nullable) };
}

function orNull(schema: Schema, nullable: boolean): Schema {
  if (!nullable) return schema;
  if (typeof schema.type === 'string') return { ...schema, type: [schema.type, 'null'] };
  if (Array.isArray(schema.enum)) return { ...schema, enum: [...schema.enum, null] };
  if (Array.isArray(schema.anyOf)) return { ...schema, anyOf: [...schema.anyOf, { type: 'null' }] };
  return { anyOf: [schema, { type: 'null' }] };
}

/** `parameters` follow the catalog entry the section's `type` (a DNS section's `provider`) names. */
function pluginConditions(catalog: PluginCatalog, category: PluginCategory, section: SectionName): Schema[] {
  // A server's `host` may also be given beside `parameters`.
  const implicit = section === 'server' ? ['host'] : [];
  const discriminator = category === 'dns' ? 'provider' : 'type';
  return catalog.entries(category).map((entry) => parametersRule(discriminator, [entry.name, ...entry.aliases], entry.parameters, implicit));
}

/** When the section's `discriminator` (a plugin `type`, a DNS `provider`) is one of `names`, its parameters. */
function parametersRule(discriminator: string, names: string[], parameters: Readonly<Record<string, ParameterSpec>>, implicit: string[]): Schema {
  const required = Object.keys(parameters).filter((k) => parameters[k].required && !implicit.includes(k));
  return {
    if: { properties: { [discriminator]: { enum: names } }, required: [discriminator] },
    then: {
      properties: {
        parameters: orNull(
          {
            type: 'object',
            additionalProperties: false,
            properties: Object.fromEntries(Object.entries(parameters).map(([k, p]) => [k, parameterSchema(p, !required.includes(k))])),
            ...(required.length > 0 && { required }),
          },
          required.length === 0,
        ),
      },
      ...(required.length > 0 && { required: ['parameters'] }),
    },
  };
}

function parameterSchema(p: ParameterSpec, nullable: boolean): Schema {
  const kinds = { string: 'string', boolean: 'boolean', integer: 'integer', 'string[]': 'array' } as const;
  const schema: Schema = p.enum
    ? { enum: p.enum }
    : {
        type: kinds[p.type],
        ...(p.type === 'string[]' && { items: { type: 'string' } }),
        ...(p.minimum !== undefined && { minimum: p.minimum }),
        ...(p.maximum !== undefined && { maximum: p.maximum }),
      };
  return { description: p.description, ...(p.default !== undefined && { default: p.default }), ...orNull(schema, nullable) };
}
