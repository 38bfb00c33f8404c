// Atomic file replacement, written once over a small file-system interface so the local server, the local
// storage and the SSH server (over SFTP) share the same all-or-nothing logic.
import { randomBytes } from 'node:crypto';
import { constants, promises as fs, readFile } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { ArtifactKind } from '../blueprint/types';
import { PluginConfigError, PluginError, PluginIoError, errnoCode, fsError } from './errors';

export const KEY_FILE_MODE = 0o600;
export const PUBLIC_FILE_MODE = 0o644;
export const FOLDER_MODE = 0o755;

/**
 * The primitives the atomic helpers need. Implementations throw errors that `classify` understands; paths
 * follow `path` (node's `path` locally, `path.posix` over SFTP).
 */
export interface AtomicFileOps {
  readonly path: path.PlatformPath;
  /** Creates the folder and its parents (mode 0755); an existing folder is fine. */
  mkdirp(dir: string): Promise<void>;
  /** Creates `file`, which must not exist, with exactly `mode` (whatever the umask), and flushes it to disk. */
  writeNew(file: string, content: string, mode: number): Promise<void>;
  /** Adds the name `alias` for `existing` (a hard link); false when `existing` does not exist. */
  linkIfExists(existing: string, alias: string): Promise<boolean>;
  /** Replaces `to` by `from` in one step. */
  rename(from: string, to: string): Promise<void>;
  /** Deletes a file; a missing file is not an error. */
  remove(file: string): Promise<void>;
  /** Makes the renames done in `dir` survive a crash. */
  syncDir(dir: string): Promise<void>;
  /** True when `file` exists with exactly `content` and `mode`. */
  holds(file: string, content: string, mode: number): Promise<boolean>;
  /** Turns a failure of one of the primitives into a typed plugin error. */
  classify(subject: string, action: string, err: unknown): PluginError;
}

export const localFileOps: AtomicFileOps = {
  path,
  async mkdirp(dir) {
    const target = path.resolve(dir);
    const first = await fs.mkdir(target, { recursive: true, mode: FOLDER_MODE });
    // The umask may have narrowed the new folders, and the web server must be able to traverse acme_dir.
    for (let d = target; first !== undefined; d = path.dirname(d)) {
      await fs.chmod(d, FOLDER_MODE);
      if (d === first || d === path.dirname(d)) break;
    }
  },
  async writeNew(file, content, mode) {
    const handle = await fs.open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, mode);
    try {
      // The umask may have removed bits at creation, and 0644 must really be readable by the web server.
      await handle.chmod(mode);
      await handle.writeFile(content, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async linkIfExists(existing, alias) {
    const stat = await fs.lstat(existing).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return null;
      throw err;
    });
    if (!stat) return false;
    // link() answers EPERM for a folder, which would read as a permission problem worth retrying.
    if (stat.isDirectory()) throw Object.assign(new Error(`${existing} is a folder`), { code: 'EISDIR' });
    await fs.link(existing, alias);
    return true;
  },
  rename: (from, to) => fs.rename(from, to),
  async remove(file) {
    await fs.rm(file, { force: true });
  },
  async syncDir(dir) {
    const handle = await fs.open(dir, constants.O_RDONLY);
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  async holds(file, content, mode) {
    const [stat, current] = await Promise.all([fs.stat(file).catch(() => null), readText(file, 'utf8').catch(() => null)]);
    return stat !== null && (stat.mode & 0o7777) === mode && current === content;
  },
  classify: fsError,
};

export interface FileToWrite {
  path: string;
  content: string;
  mode: number;
}

/** Refuses a name that would leave its folder or be no file at all. `what` names the value: "storage name". */
export function assertFileName(name: string, what: string, subject: string): void {
  if (name === '' || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new PluginConfigError(subject, `${what} must be a plain file name (no path separators, not '.' or '..', not empty)`);
  }
}

/** `.<name>.<suffix>.<ext>` beside `target`: hidden, and never taken for the artifact itself. */
const hiddenName = (p: path.PlatformPath, target: string, suffix: string, ext: string): string =>
  p.join(p.dirname(target), `.${p.basename(target)}.${suffix}.${ext}`);

/** Runs a primitive, turning its failure into the typed plugin error `action` describes. */
const classified =
  (subject: string, ops: AtomicFileOps) =>
  <T>(action: string, op: () => Promise<T>): Promise<T> =>
    op().catch((err: unknown) => {
      throw ops.classify(subject, action, err);
    });

/** How an artifact of `kind` is written: keys readable by the owner only. */
export const artifactMode = (kind: ArtifactKind): number => (kind === 'key' ? KEY_FILE_MODE : PUBLIC_FILE_MODE);

/**
 * Writes all `files` or none. Each new file is written in full under a hidden temporary name in its target
 * folder, then renamed over the target. With several files the current ones are first linked to backup names,
 * and if any rename fails the ones already replaced are put back, so a reader sees either the whole old set or
 * the whole new one (apart from the instants between the renames). Temporary and backup names are removed,
 * except a backup that could not be put back.
 */
export async function writeFilesAtomic(subject: string, files: FileToWrite[], ops: AtomicFileOps = localFileOps): Promise<void> {
  const suffix = randomBytes(6).toString('hex');
  const steps: Step[] = files.map((file) => ({
    ...file,
    temp: hiddenName(ops.path, file.path, suffix, 'tmp'),
    backup: hiddenName(ops.path, file.path, suffix, 'bak'),
    hasBackup: false,
    replaced: false,
  }));
  const folders = [...new Set(steps.map((s) => ops.path.dirname(s.path)))];
  const run = classified(subject, ops);

  try {
    for (const dir of folders) await run(`cannot create folder ${dir}`, () => ops.mkdirp(dir));
    for (const s of steps) await run(`cannot write ${s.path}`, () => ops.writeNew(s.temp, s.content, s.mode));
    // A single rename is all-or-nothing by itself; backups are only needed to undo a partial multi-file swap.
    if (steps.length > 1) {
      for (const s of steps) s.hasBackup = await run(`cannot keep a backup of ${s.path}`, () => ops.linkIfExists(s.path, s.backup));
    }
    for (const s of steps) {
      await run(`cannot replace ${s.path}`, () => ops.rename(s.temp, s.path));
      s.replaced = true;
    }
  } catch (failure) {
    const unrestored = await rollBack(steps, ops);
    await Promise.all(steps.map((s) => ops.remove(s.temp).catch(() => undefined)));
    if (unrestored.length) {
      const detail = failure instanceof PluginError ? failure.detail : String(failure);
      throw new PluginIoError(
        subject,
        `${detail}; restoring the previous ${unrestored.join(', ')} also failed, its backup is kept next to it`,
        failure instanceof PluginIoError ? failure.code : undefined,
        { cause: failure },
      );
    }
    throw failure;
  }

  // The new files are in place: from here on a failure no longer changes what readers see.
  await Promise.all(steps.filter((s) => s.hasBackup).map((s) => ops.remove(s.backup).catch(() => undefined)));
  for (const dir of folders) await run(`cannot flush folder ${dir}`, () => ops.syncDir(dir));
}

interface Step extends FileToWrite {
  temp: string;
  backup: string;
  /** The previous file was linked to `backup`. */
  hasBackup: boolean;
  /** The new file has been renamed over the target. */
  replaced: boolean;
}

/** Undoes the renames already done; returns the targets it could not restore (their backups stay). */
async function rollBack(steps: Step[], ops: AtomicFileOps): Promise<string[]> {
  const unrestored: string[] = [];
  for (const s of steps) {
    if (s.replaced) {
      // A target that did not exist before is removed again.
      await (s.hasBackup ? ops.rename(s.backup, s.path) : ops.remove(s.path)).catch(() => unrestored.push(s.path));
    } else if (s.hasBackup) {
      await ops.remove(s.backup).catch(() => undefined);
    }
  }
  return unrestored;
}

export function writeFileAtomic(subject: string, file: string, content: string, mode: number, ops: AtomicFileOps = localFileOps): Promise<void> {
  return writeFilesAtomic(subject, [{ path: file, content, mode }], ops);
}

/**
 * `writeFilesAtomic` for a deploy, which may be a retry: files that all hold exactly what would be written are
 * left alone, so a server is written once however often its deploy is attempted.
 */
export async function deployFilesOnce(subject: string, files: FileToWrite[], ops: AtomicFileOps = localFileOps): Promise<void> {
  const held = await Promise.all(files.map((f) => ops.holds(f.path, f.content, f.mode).catch(() => false)));
  if (held.every(Boolean)) return;
  await writeFilesAtomic(subject, files, ops);
}

/** Deploys a private key (0600) and its certificate (0644) together: both new or both old, and only once. */
export function deployPairAtomic(
  subject: string,
  pair: { keyPath: string; key: string; certificatePath: string; certificate: string },
  ops: AtomicFileOps = localFileOps,
): Promise<void> {
  return deployFilesOnce(
    subject,
    [
      { path: pair.keyPath, content: pair.key, mode: KEY_FILE_MODE },
      { path: pair.certificatePath, content: pair.certificate, mode: PUBLIC_FILE_MODE },
    ],
    ops,
  );
}

/**
 * Creates a local `file` only if it does not exist: a complete hidden file gets the name with link(), which
 * refuses a name that exists. Returns what the file holds afterwards: `content`, or what another writer created.
 */
export async function createFileExclusive(subject: string, file: string, content: string, mode: number): Promise<string> {
  const dir = path.dirname(file);
  const temp = hiddenName(path, file, randomBytes(6).toString('hex'), 'tmp');
  const run = classified(subject, localFileOps);
  try {
    await run(`cannot create folder ${dir}`, () => localFileOps.mkdirp(dir));
    await run(`cannot write ${file}`, () => localFileOps.writeNew(temp, content, mode));
    const created = await fs.link(temp, file).then(
      () => true,
      (err: unknown) => {
        if (errnoCode(err) === 'EEXIST') return false;
        throw fsError(subject, `cannot create ${file}`, err);
      },
    );
    if (created) {
      await run(`cannot flush folder ${dir}`, () => localFileOps.syncDir(dir));
      return content;
    }
    const existing = await readFileIfExists(subject, file);
    if (existing === null) throw new PluginIoError(subject, `${file} was removed while it was being created`, undefined);
    return existing;
  } finally {
    await fs.rm(temp, { force: true }).catch(() => undefined);
  }
}

/** A local file's text, `null` when it does not exist. Kept here with the writers so every plugin reads alike. */
// The callback readFile, promisified: several times faster than fs.promises.readFile on small files, which
// `check` reads by the thousand.
const readText = promisify(readFile);

export async function readFileIfExists(subject: string, file: string): Promise<string | null> {
  try {
    return await readText(file, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return null;
    throw fsError(subject, `cannot read ${file}`, err);
  }
}
