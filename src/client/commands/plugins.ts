// `autossl plugins`: the plugin catalog as the loader checks blueprints against it, read from the plugins' specs.
import type { ParameterSpec, PluginCategory } from '../../blueprint/catalog';
import { BUILT_IN, builtInNames } from '../../catalog';
import type { CommandSpec } from '../cli';
import type { Context } from '../context';

const CATEGORIES: readonly { category: PluginCategory; title: string; key: string }[] = [
  { category: 'server', title: 'Servers', key: 'servers[].type' },
  { category: 'storage', title: 'Storage', key: 'storage.type' },
  { category: 'tracking', title: 'Tracking', key: 'tracking.type' },
  { category: 'ca', title: 'Certificate authorities', key: 'certificate_authorities[].type' },
  { category: 'dns', title: 'DNS providers', key: 'dns.provider' },
];

export const spec: CommandSpec = {
  name: 'plugins',
  summary: 'List the plugin types a blueprint may name, with their parameters.',
  description: [
    'Lists every built-in plugin: its type (short name and AutoSSL class path), what it does, the credential it',
    'takes, and each parameter with its type, whether it is required, its default and its meaning. It is what the',
    'blueprint loader (and so check) validates against. A type may also name an in-house module (./x.js#export).',
    '',
    ...CATEGORIES.map(({ category, key }) => `  ${key.padEnd(32)} ${builtInNames(category).join(', ')}`),
  ].join('\n'),
  options: { json: { type: 'boolean', help: 'Print the catalog as JSON.' } },
};

function parameterLine(name: string, p: ParameterSpec): string {
  const facts = [
    p.type,
    p.required && 'required',
    p.aliasOf && `another name of ${p.aliasOf}`,
    p.enum && `one of ${p.enum.join(', ')}`,
    p.minimum !== undefined && `>= ${p.minimum}`,
    p.maximum !== undefined && `<= ${p.maximum}`,
    p.default !== undefined && `default ${JSON.stringify(p.default)}`,
    p.expandEnv && '$VARs expanded',
  ].filter(Boolean);
  return `    ${name} (${facts.join(', ')}): ${p.description}`;
}

export async function run(ctx: Context): Promise<number> {
  if (ctx.values.json === true) {
    const plain = BUILT_IN.map(({ category, name, aliases, description, parameters, credentials, capabilities }) => ({
      category,
      name,
      aliases,
      description,
      ...(credentials && { credentials }),
      ...(capabilities?.awaitsPerson && { awaitsPerson: true }),
      parameters: Object.fromEntries(Object.entries(parameters).map(([k, { check: _check, ...p }]) => [k, p])),
    }));
    ctx.io.out(JSON.stringify(plain, null, 2));
    return 0;
  }
  for (const { category, title, key } of CATEGORIES) {
    ctx.io.out(`${title} (${key}):`);
    for (const entry of BUILT_IN.filter((e) => e.category === category)) {
      ctx.io.out(`  ${[entry.name, ...entry.aliases].join(' / ')}: ${entry.description}`);
      if (entry.credentials) ctx.io.out(`    credentials: ${entry.credentials.types.join(' or ')}${entry.credentials.required ? ', required' : ''}`);
      for (const [name, p] of Object.entries(entry.parameters)) ctx.io.out(parameterLine(name, p));
    }
    ctx.io.out('');
  }
  return 0;
}
