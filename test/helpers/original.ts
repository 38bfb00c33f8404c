// The original AutoSSL (Python, from PyPI) as a peer: the side-by-side tests run it on the same blueprints and
// folders as this project. `.ci/run` installs it in a venv and exports AUTOSSL_ORIGINAL.
import { execFile } from 'node:child_process';
import { constants, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CliResult } from './cli';

export const ORIGINAL_AUTOSSL_VERSION = '0.9.9';

/** The original's `autossl` command: $AUTOSSL_ORIGINAL, else where `.ci/run` installs it. */
export async function originalAutossl(): Promise<string> {
  const cache = process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache');
  const command = process.env.AUTOSSL_ORIGINAL ?? path.join(cache, 'autossl', 'tools', `autossl-${ORIGINAL_AUTOSSL_VERSION}`, 'bin', 'autossl');
  if (
    !(await fs.access(command, constants.X_OK).then(
      () => true,
      () => false,
    ))
  ) {
    throw new Error(
      `the original AutoSSL is not at ${command}: run .ci/run, or pip install 'autossl[git]==${ORIGINAL_AUTOSSL_VERSION}' in a venv and set AUTOSSL_ORIGINAL`,
    );
  }
  return command;
}

/** Runs the original with `args`; `input` is its standard input (its renew prompt reads it). */
export async function runOriginal(args: string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; input?: string }): Promise<CliResult> {
  const command = await originalAutossl();
  return new Promise((resolve, reject) => {
    const child = execFile(command, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(err);
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
    child.stdin?.end(opts.input ?? '');
  });
}

/** The original logs its verdicts (it exits 0 either way): the certificates it found up to date. */
export const upToDateInOriginal = (log: string): string[] =>
  [...log.matchAll(/Certificate and all servers up to date for '([^']+)'/g)].map((m) => m[1]);
