// Argument parsing and help. AutoSSL puts global options before the action (`autossl --blueprint b.yaml check`);
// they are accepted after it too.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ClassifiedError } from '../errors';

export const EXIT = { ok: 0, action: 1, usage: 2, internal: 3 } as const;

/** A mistake in what the user typed or gave: message, exit 2, nothing done. */
export class UsageError extends ClassifiedError {
  override readonly name = 'UsageError';
}

export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  multiple?: boolean;
  value?: string;
  help: string;
}

export const GLOBAL_OPTIONS: Record<string, OptionSpec> = {
  config: { type: 'string', value: 'FILE', help: 'Global blueprint merged under every blueprint (per top-level key).' },
  blueprint: { type: 'string', short: 'b', value: 'FILE|DIR', help: 'Blueprint file, or a folder searched recursively for *.yaml / *.yml.' },
  credentials: {
    type: 'string',
    multiple: true,
    value: 'NAME:VALUE',
    help: 'A credential on the command line (repeatable), e.g. git_credentials:user:pass.',
  },
  'credentials-file': { type: 'string', value: 'FILE', help: 'Ini file with a [NAME] section per credential (default ~/.autossl).' },
  staging: { type: 'boolean', help: "Use the CAs' staging endpoints." },
  debug: { type: 'boolean', help: 'Print stack traces and debug logs.' },
  'data-dir': {
    type: 'string',
    value: 'DIR',
    help: 'Local state (dev server database, examples), default ./.autossl; exported as AUTOSSL_DATA_DIR.',
  },
  help: { type: 'boolean', short: 'h', help: 'Show help.' },
};

export const CONNECTION_OPTIONS: Record<string, OptionSpec> = {
  address: {
    type: 'string',
    value: 'HOST:PORT',
    help: 'Temporal frontend (default $TEMPORAL_ADDRESS, then 127.0.0.1:7233; see the action for its fallback).',
  },
  namespace: { type: 'string', value: 'NS', help: 'Temporal namespace (default $TEMPORAL_NAMESPACE, then default).' },
  'task-queue': { type: 'string', value: 'QUEUE', help: 'Task queue of the autossl workers (default autossl).' },
};

export interface CommandSpec {
  name: string;
  summary: string;
  /** Longer explanation printed by `autossl ACTION --help`. */
  description: string;
  options: Record<string, OptionSpec>;
}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export interface Parsed {
  action?: string;
  values: ParsedValues;
  positionals: string[];
}

function toConfig(options: Record<string, OptionSpec>): ParseArgsConfig['options'] {
  return Object.fromEntries(
    Object.entries(options).map(([name, o]) => [
      name,
      { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) },
    ]),
  );
}

/** The first word that is neither an option nor the value of a global option. */
function actionIndex(argv: string[]): number {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('-')) return i;
    const name = arg.replace(/^--?/, '').split('=')[0];
    const spec = GLOBAL_OPTIONS[name] ?? Object.values(GLOBAL_OPTIONS).find((o) => o.short === name);
    if (spec?.type === 'string' && !arg.includes('=')) i++;
  }
  return -1;
}

/** The action named in `argv`, if any; one not in `actions` is a UsageError. */
export function findAction(argv: string[], actions: readonly string[]): string | undefined {
  const at = actionIndex(argv);
  if (at < 0) return undefined;
  if (!actions.includes(argv[at])) throw new UsageError(`unknown action '${argv[at]}'; expected one of: ${actions.join(', ')}`);
  return argv[at];
}

/** Parses `argv` against the global options and those of `command`, the action found by findAction. */
export function parse(argv: string[], command: CommandSpec | undefined): Parsed {
  const at = actionIndex(argv);
  const action = at >= 0 ? argv[at] : undefined;
  const rest = at >= 0 ? [...argv.slice(0, at), ...argv.slice(at + 1)] : argv;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: toConfig({ ...GLOBAL_OPTIONS, ...(command?.options ?? {}) }),
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    return { action, values: values as ParsedValues, positionals };
  } catch (err) {
    if (err instanceof UsageError) throw err;
    // node's messages name the option; drop its internal error code prefix.
    const message = err instanceof Error ? err.message.replace(/^.*?: /, '') : String(err);
    throw new UsageError(`${message}${action ? ` (see 'autossl ${action} --help')` : " (see 'autossl --help')"}`);
  }
}

function optionLines(options: Record<string, OptionSpec>): string[] {
  return Object.entries(options).map(([name, o]) => {
    const flag = `${o.short ? `-${o.short}, ` : '    '}--${name}${o.value ? ` ${o.value}` : ''}`;
    return `  ${flag.padEnd(34)} ${o.help}`;
  });
}

export function usage(commands: CommandSpec[]): string {
  return [
    'Usage: autossl [global options] ACTION [options]',
    '',
    'Keeps TLS certificates valid and deployed: every certificate described by a blueprint is watched,',
    'renewed and deployed by a durable Temporal workflow.',
    '',
    'Actions:',
    ...commands.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Exit codes: 0 all good, 1 something needs action or failed, 2 bad input (options, blueprint, files),',
    "3 internal error. 'autossl ACTION --help' explains each action.",
  ].join('\n');
}

export function commandUsage(command: CommandSpec): string {
  return [
    `Usage: autossl [global options] ${command.name} [options]`,
    '',
    command.description,
    '',
    ...(Object.keys(command.options).length ? ['Options:', ...optionLines(command.options), ''] : []),
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
  ].join('\n');
}
