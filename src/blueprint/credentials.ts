// Credential resolution as AutoSSL does it (command line, ini file, environment, terminal prompt). Runs on the
// worker or in the CLI only: workflows carry credential names, never values.
import { readFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { CredentialError } from './errors';
import { CREDENTIAL_FIELDS } from './keys';
import type { CredentialSpec } from './types';

export { CredentialError } from './errors';

/** Field values of one credential, e.g. `{ username, password }` or `{ api_key, api_id }`. */
export type CredentialValues = Record<string, string>;

export interface CredentialResolver {
  /**
   * Resolves credential `name` (an entry of the blueprint's `credentials:`), merging `extra` non-secret fields.
   * Throws a `CredentialError` naming the credential (never a value) when it cannot be found.
   */
  resolve(name: string, extra?: Record<string, unknown>): Promise<CredentialValues>;
}

export interface CredentialResolverOptions {
  /** The blueprint's `credentials:`. */
  specs: Record<string, CredentialSpec>;
  /** `NAME:value` items of `--credentials`; the value holds the fields in order, split on the separator. */
  commandLine?: string[];
  /** Ini file with a `[NAME]` section per credential; default `~/.autossl`, which may be absent. */
  file?: string;
  /** Where `NAME_FIELD` variables are looked up; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Asks a person; give it only when stdin is a terminal. */
  prompt?: (question: string, secret: boolean) => Promise<string>;
}

export function createCredentialResolver(opts: CredentialResolverOptions): CredentialResolver {
  const env = opts.env ?? process.env;
  const commandLine = parseCommandLine(opts.commandLine ?? []);
  let ini: Promise<Map<string, Map<string, string>>> | undefined;
  const prompted = new Map<string, string>();
  // One question at a time, and each asked once even when several activities resolve the same credential.
  let asking: Promise<unknown> = Promise.resolve();

  const ask = (name: string, field: string, secret: boolean): Promise<string> => {
    const key = `${name}\0${field}`;
    const answer = asking.then(async () => {
      if (!prompted.has(key)) prompted.set(key, await opts.prompt!(`${name} ${field}: `, secret));
      return prompted.get(key)!;
    });
    asking = answer.catch(() => undefined);
    return answer;
  };

  return {
    async resolve(name, extra = {}) {
      const spec = Object.hasOwn(opts.specs, name) ? opts.specs[name] : undefined;
      if (!spec) throw new CredentialError(name, `credential '${name}' is not declared in the blueprint's credentials:`);
      const fields = CREDENTIAL_FIELDS[spec.type];
      const given = stringValues(extra);
      const raw = commandLine.get(name);
      const fromCommandLine = raw === undefined ? [] : splitFields(raw, spec.separator, fields.length);
      ini ??= readIni(opts.file ?? path.join(os.homedir(), '.autossl'), opts.file !== undefined);
      const section = (await ini).get(name);

      const values: CredentialValues = {};
      const missing: string[] = [];
      for (const [i, field] of fields.entries()) {
        const found = fromCommandLine[i] ?? section?.get(field.name) ?? env[`${name}_${field.name}`.toUpperCase()];
        if (found !== undefined) values[field.name] = found;
        else if (Object.hasOwn(given, field.name) || field.optional) continue;
        else if (opts.prompt) values[field.name] = await ask(name, field.name, field.secret);
        else missing.push(field.name);
      }
      if (missing.length > 0) {
        const variables = missing.map((f) => `${name}_${f}`.toUpperCase()).join(', ');
        const sources = `--credentials ${name}:..., a [${name}] section in the credentials file, or ${variables}`;
        throw new CredentialError(name, `credential '${name}' (${spec.type}) has no ${missing.join(', ')}: give ${sources}`, missing);
      }
      return { ...values, ...given };
    },
  };
}

/**
 * `NAME:value` items by name; the name always ends at the first ':' whatever the credential's separator. The CLI
 * calls it up front too, so a malformed item is bad input before anything runs.
 */
export function parseCommandLine(items: string[]): Map<string, string> {
  const byName = new Map<string, string>();
  for (const item of items) {
    const colon = item.indexOf(':');
    // The item is not repeated: without a ':' it may be a bare secret.
    if (colon <= 0) throw new CredentialError('--credentials', 'a --credentials item must be NAME:value');
    byName.set(item.slice(0, colon), item.slice(colon + 1));
  }
  return byName;
}

/** Splits at most `count - 1` times, so the last field (a password) may hold the separator. */
function splitFields(raw: string, separator: string, count: number): string[] {
  const parts: string[] = [];
  let rest = raw;
  while (parts.length < count - 1) {
    const at = rest.indexOf(separator);
    if (at < 0) break;
    parts.push(rest.slice(0, at));
    rest = rest.slice(at + separator.length);
  }
  return [...parts, rest];
}

function stringValues(extra: Record<string, unknown>): CredentialValues {
  const entries = Object.entries(extra).filter(([, v]) => v !== undefined && v !== null);
  return Object.fromEntries(entries.map(([k, v]) => [k, typeof v === 'string' ? v : JSON.stringify(v)]));
}

async function readIni(file: string, explicit: boolean): Promise<Map<string, Map<string, string>>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    // The default file is optional (and `.autossl` may be a data folder when the home is the working folder).
    if (!explicit && (code === 'ENOENT' || code === 'EISDIR')) return new Map();
    throw new CredentialError('--credentials-file', `cannot read credentials file ${file} (${code === 'ENOENT' ? 'not found' : code})`);
  }
  return parseIni(text, file);
}

/**
 * The ini subset Python's configparser reads for AutoSSL: `[section]`, `key = value` or `key: value`, whole-line
 * `#`/`;` comments, option names case-insensitive, `%%` for a literal `%`. Errors give the line, never its text.
 */
function parseIni(text: string, file: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  for (const [i, raw] of text
    .replace(/^\uFEFF/, '')
    .split(/\r?\n/)
    .entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = sections.get(header[1]) ?? new Map();
      sections.set(header[1], current);
      continue;
    }
    const option = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    if (!option || !current) {
      throw new CredentialError('--credentials-file', `credentials file ${file}, line ${i + 1}: expected [NAME] or key = value`);
    }
    current.set(option[1].toLowerCase(), option[2].replace(/%%/g, '%'));
  }
  return sections;
}
