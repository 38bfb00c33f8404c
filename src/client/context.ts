// What every action needs from the global options: blueprints, credentials, the data folder, and printing.
import path from 'node:path';
import type { Blueprint } from '../blueprint/types';
import { createCredentialResolver, parseCommandLine } from '../blueprint/credentials';
import type { PluginEnvironment } from '../catalog/open';
import { UsageError, type ParsedValues } from './cli';
import { readInputFile } from './input';

export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export interface Context {
  values: ParsedValues;
  io: Output;
  dataDir: string;
  debug: boolean;
}

export async function makeContext(values: ParsedValues, io: Output, env: NodeJS.ProcessEnv = process.env): Promise<Context> {
  // Credentials are resolved when first needed, which may be never (a blueprint without credentials) or deep in
  // a check that reports errors per certificate: a mistyped file or item is bad input, refused here.
  const credentialsFile = str(values['credentials-file']);
  if (credentialsFile !== undefined) await readInputFile(credentialsFile, '--credentials-file');
  if (Array.isArray(values.credentials)) parseCommandLine(values.credentials);
  const dataDir = path.resolve(str(values['data-dir']) ?? env.AUTOSSL_DATA_DIR ?? '.autossl');
  // Blueprints may use ${AUTOSSL_DATA_DIR} (the bundled examples do) to stay inside the project folder.
  env.AUTOSSL_DATA_DIR = dataDir;
  return { values, io, dataDir, debug: values.debug === true };
}

export const str = (v: ParsedValues[string]): string | undefined => (typeof v === 'string' ? v : undefined);

export async function loadFromOptions(ctx: Context, required = true): Promise<Blueprint[]> {
  const blueprint = str(ctx.values.blueprint);
  const config = str(ctx.values.config);
  if (!blueprint) {
    if (!required) return [];
    throw new UsageError('--blueprint FILE|DIR is required');
  }
  const { loadBlueprints } = await import('../catalog');
  return loadBlueprints({ blueprint, config, env: process.env });
}

/**
 * Plugins as this process (CLI or worker) reaches them. Credentials come from the options, the ini file and the
 * environment; a terminal prompt only for the interactive CLI, never on a worker.
 */
export function pluginEnvironment(ctx: Context, interactive: boolean): PluginEnvironment {
  const commandLine = Array.isArray(ctx.values.credentials) ? ctx.values.credentials : [];
  const file = str(ctx.values['credentials-file']);
  const prompt = interactive && process.stdin.isTTY ? require('./prompt').prompt : undefined;
  return {
    staging: ctx.values.staging === true,
    credentialsFor: (blueprint) => createCredentialResolver({ specs: blueprint.credentials, commandLine, file, env: process.env, prompt }),
  };
}
