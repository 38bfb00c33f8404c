// Running the built CLI as a user does, and proving it changed nothing: a snapshot of a folder tree (paths, kinds,
// permission bits, content digests) taken before and after.
//
//   const before = await snapshot(dir);
//   const { code, stdout, stderr } = await runCli(['--blueprint', file, 'check']);
//   assert.deepEqual(await snapshot(dir), before);
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

// Compiled to dist/test/helpers: the repository is three levels up.
export const REPO = path.resolve(__dirname, '..', '..', '..');
export const BIN = path.join(REPO, 'bin', 'autossl.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Standard input, which then ends as under cron (no terminal, nothing more to read); default empty. */
  input?: string;
  /** Killed after this long; default 60 s. */
  timeoutMs?: number;
}

export function runCli(args: string[], opts: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, NO_COLOR: '1', ...opts.env };
    const child = execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: opts.cwd ?? REPO, env, timeout: opts.timeoutMs ?? 60_000 },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') return reject(err);
        resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
      },
    );
    // A command that exits without reading its input closes the pipe: nothing to report.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });
}

export type Snapshot = [string, string][];

/** Every entry under `dir`: relative path, kind, permission bits and content digest (or link target). */
export async function snapshot(dir: string): Promise<Snapshot> {
  const out: Snapshot = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await fs.readdir(d)).sort()) {
      const full = path.join(d, name);
      const rel = path.relative(dir, full);
      const st = await fs.lstat(full);
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.push([rel, `dir ${mode}`]);
        await walk(full);
      } else if (st.isSymbolicLink()) {
        out.push([rel, `link ${mode} -> ${await fs.readlink(full)}`]);
      } else {
        out.push([
          rel,
          `file ${mode} ${st.size} bytes sha256:${createHash('sha256')
            .update(await fs.readFile(full))
            .digest('hex')}`,
        ]);
      }
    }
  };
  await walk(dir);
  return out;
}
