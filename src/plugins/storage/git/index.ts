// Artifacts as files `<folder>/<name>.<kind>` (CA files by their exact names) in a git repository, each change a
// commit pushed to the remote.
//
// Activities open and close a storage per call, so the working clone is not the plugin's: it belongs to the
// process, one per (url, branch), in a private cache folder, and every plugin instance reuses it (a fetch and a
// hard reset before each operation instead of a clone per call). Operations on one clone are queued, since a
// working tree and its index take one writer at a time; another process pushing first is resolved by redoing
// the change on the new remote tip.
//
// Secrets never touch a URL, a command line or the clone's config: an https password reaches git through a
// credential helper, given with `-c`, that prints two environment variables of that git process; git's own
// helpers are switched off so none of them stores it. What git says is scrubbed anyway before it is reported.
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { simpleGit, type SimpleGit } from 'simple-git';
import type { ArtifactKind } from '../../../blueprint/types';
import { PluginConfigError, PluginError, PluginIoError, errnoCode, fsError, messageOf } from '../../errors';
import { KEY_FILE_MODE, artifactMode, assertFileName, readFileIfExists, writeFileAtomic } from '../../fs-atomic';
import type { StorageFactory, StoragePlugin } from '../../types';
import { accessFor, str } from './access';
import { PRIVATE_FOLDER_MODE, lockClone, preparePrivateFolder } from './clone-lock';
import { assertNoPassword, scrub, transportOf, withoutUserinfo } from './url';

/** Pushes attempted while other writers keep winning the race. */
const PUSH_ATTEMPTS = 6;
/** A git command silent this long is killed: a hung connection must not hold the queue forever. */
const SILENCE_TIMEOUT_MS = 60_000;

/** Failures only a change to the blueprint, the credentials or the remote fixes: retrying cannot help. */
const NOT_RETRYABLE =
  /Authentication failed|could not read (Username|Password)|terminal prompts disabled|returned error: 40[134]|Permission denied \(|Host key verification failed|host key for .* has changed|No \S+ host key is known|does not appear to be a git repository|Repository not found|Invalid username or password/i;

/** Push failures caused by another writer having moved the branch first (rejected, or its ref lock taken). */
const LOST_RACE = /\[rejected\]|\[remote rejected\]|non-fast-forward|fetch first|cannot lock ref|failed to update ref|\.lock': File exists/i;

const MISSING_BRANCH = /couldn't find remote ref/i;

/** Per-process state of one working clone, shared by every plugin instance using it. */
interface CloneState {
  /** Tail of the operations queued on this clone. */
  queue: Promise<unknown>;
  /** Found once per process: the configured branch, else the remote's default, else main. */
  branch?: string;
  /** Keys named exactly (`getFile`, `createFile`) whatever their extension, kept owner-only like `*.key`. */
  keyFiles: Set<string>;
}
const clones = new Map<string, CloneState>();

export interface GitStorageOptions {
  /**
   * Folder of the working clones; default `$AUTOSSL_DATA_DIR/git`, else a per-user folder in the temporary
   * directory. Two factories with two folders in one process behave like two processes.
   */
  cacheRoot?: string;
}

/** `folder` as a relative path inside the repository ('' for its root). */
function repoFolder(value: unknown, subject: string): string {
  const normalized = path.posix.normalize(str(value) ?? '.').replace(/\/+$/, '');
  if (path.posix.isAbsolute(normalized) || normalized.split('/').some((part) => part === '..' || part === '.git')) {
    throw new PluginConfigError(subject, "folder must be a path inside the repository (not absolute, no '..', not .git)");
  }
  return normalized === '.' ? '' : normalized;
}

export function gitStorageFactory(options: GitStorageOptions = {}): StorageFactory {
  return async (spec, ctx) => {
    const url = str(spec.parameters.git_url);
    if (!url) throw new PluginConfigError('storage git', "needs a 'git_url'");
    assertNoPassword(url);
    const subject = `storage git:${url}`;
    if (!transportOf(url)) throw new PluginConfigError(subject, 'git_url must be an https://, ssh:// (or user@host:path) or file:// URL');
    const folder = repoFolder(spec.parameters.folder, subject);
    const configuredBranch = str(spec.parameters.branch);
    // It goes into refspecs: a ':', a leading '-' or '..' would make it mean something else.
    if (configuredBranch !== undefined && !/^(?!-)(?!.*\.\.)[\w./-]+$/.test(configuredBranch)) {
      throw new PluginConfigError(subject, `branch '${configuredBranch}' is not a plain branch name`);
    }
    const kinds = spec.data?.length ? new Set(spec.data) : undefined;

    const dataDir = process.env.AUTOSSL_DATA_DIR;
    const cacheRoot = options.cacheRoot ?? (dataDir ? path.join(dataDir, 'git') : path.join(os.tmpdir(), `autossl-git-${os.userInfo().uid}`));
    await preparePrivateFolder(cacheRoot, subject);
    const access = await accessFor(spec, ctx, url, cacheRoot);
    const dir = path.join(
      cacheRoot,
      createHash('sha256')
        .update(`${url}\0${configuredBranch ?? ''}`)
        .digest('hex')
        .slice(0, 24),
    );
    let state = clones.get(dir);
    if (!state) clones.set(dir, (state = { queue: Promise.resolve(), keyFiles: new Set() }));
    const clone = state;

    const gitIn = (baseDir: string): SimpleGit =>
      simpleGit({ baseDir, config: access.config, timeout: { block: SILENCE_TIMEOUT_MS } }).env(access.env);

    const failure = (action: string, err: unknown): PluginError => {
      if (err instanceof PluginError) return err;
      const said = scrub(messageOf(err), access.secrets);
      const lines = said
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l !== '' && !l.startsWith('hint:'));
      const detail = `${action}: ${lines.join('; ').slice(0, 600)}`;
      // No `cause`: the original error holds git's unscrubbed words.
      return NOT_RETRYABLE.test(said) ? new PluginConfigError(subject, detail) : new PluginIoError(subject, detail, undefined);
    };
    const run = (git: SimpleGit, action: string, args: string[]): Promise<string> =>
      git.raw(args).catch((err: unknown) => {
        throw failure(action, err);
      });

    /** The clone of an earlier call, or a new empty repository with `origin` set (made whole, then renamed in). */
    const openClone = async (): Promise<SimpleGit> => {
      const reused = await fs.stat(path.join(dir, '.git')).then(
        (s) => s.isDirectory(),
        () => false,
      );
      if (!reused) {
        const fresh = `${dir}.new-${randomBytes(4).toString('hex')}`;
        try {
          await fs.rm(dir, { recursive: true, force: true });
          await fs.mkdir(fresh, { mode: PRIVATE_FOLDER_MODE });
          const git = gitIn(fresh);
          await run(git, 'cannot create the working clone', ['init', '-q']);
          await run(git, 'cannot create the working clone', ['remote', 'add', 'origin', url]);
          await fs.rename(fresh, dir);
        } catch (err) {
          await fs.rm(fresh, { recursive: true, force: true });
          throw err instanceof PluginError ? err : fsError(subject, `cannot create the working clone in ${dir}`, err);
        }
      }
      return gitIn(dir);
    };

    const defaultBranch = async (git: SimpleGit): Promise<string> => {
      const said = await run(git, 'cannot read the remote', ['ls-remote', '--symref', 'origin', 'HEAD']);
      return /^ref: refs\/heads\/(\S+)\s+HEAD$/m.exec(said)?.[1] ?? 'main';
    };

    /** Brings the working tree to the remote branch exactly (or to an empty tree when the branch is not there yet). */
    const sync = async (): Promise<{ git: SimpleGit; branch: string }> => {
      const git = await openClone();
      const branch = (clone.branch ??= configuredBranch ?? (await defaultBranch(git)));
      const remoteRef = `refs/remotes/origin/${branch}`;
      const exists = await run(git, 'cannot fetch', ['fetch', '-q', 'origin', `+refs/heads/${branch}:${remoteRef}`]).then(
        () => true,
        (err: PluginError) => {
          if (MISSING_BRANCH.test(err.detail)) return false;
          throw err;
        },
      );
      const reset = (args: string[]) => run(git, 'cannot reset the working clone', args);
      if (exists) {
        await reset(['checkout', '-q', '-f', '-B', branch, remoteRef]);
      } else {
        await reset(['symbolic-ref', 'HEAD', `refs/heads/${branch}`]);
        await reset(['update-ref', '-d', `refs/heads/${branch}`]);
        await reset(['read-tree', '--empty']);
      }
      await reset(['clean', '-q', '-ffdx']);
      await protectKeys();
      return { git, branch };
    };

    const folderPath = path.join(dir, folder);
    /** Checkouts write files with the umask's mode; keys go back to owner-only. */
    const protectKeys = async (): Promise<void> => {
      const names = await fs.readdir(folderPath).catch((err: unknown) => {
        if (errnoCode(err) === 'ENOENT') return [];
        throw fsError(subject, `cannot list ${folderPath}`, err);
      });
      for (const n of names.filter((f) => f.endsWith('.key') || clone.keyFiles.has(f))) await fs.chmod(path.join(folderPath, n), KEY_FILE_MODE);
    };

    const queued = <T>(op: () => Promise<T>): Promise<T> => {
      const result = clone.queue.then(async () => {
        const unlock = await lockClone(`${dir}.lock`, subject);
        try {
          return await op();
        } finally {
          await unlock();
        }
      });
      clone.queue = result.catch(() => undefined);
      return result;
    };

    const located = (file: string) => ({ rel: folder ? `${folder}/${file}` : file, abs: path.join(folderPath, file) });
    const fileOf = (name: string, kind: ArtifactKind) => {
      assertFileName(name, 'artifact name', subject);
      return located(`${name}.${kind}`);
    };
    /** A key named exactly is remembered, so that every checkout protects it whatever its extension. */
    const fileNamed = (file: string, kind: ArtifactKind) => {
      assertFileName(file, 'file name', subject);
      if (kind === 'key') clone.keyFiles.add(file);
      return located(file);
    };

    /**
     * Applies a change on the remote tip, commits and pushes it; when another writer pushed first, does it all
     * again on their tip. `apply` says whether there is anything to change: a retried activity finds its change
     * already pushed and commits nothing.
     */
    const change = async (rel: string, verb: 'store' | 'remove', message: string | undefined, apply: () => Promise<boolean>) => {
      const id = ctx.activity()?.workflowId;
      const commitMessage = [message ?? `${verb} ${rel}`, '', `${verb === 'store' ? 'Stored' : 'Removed'}: ${rel}`]
        .concat(id ? [`Workflow: ${id}`] : [])
        .join('\n');
      for (let attempt = 1; ; attempt++) {
        const { git, branch } = await sync();
        if (!(await apply())) return;
        await run(git, 'cannot stage the change', ['add', '-A', '--', rel]);
        if ((await run(git, 'cannot stage the change', ['diff', '--cached', '--name-only'])).trim() === '') return;
        await run(git, 'cannot commit', ['commit', '-q', '--no-verify', '--no-gpg-sign', '-m', commitMessage]);
        try {
          await run(git, 'cannot push', ['push', '-q', 'origin', `HEAD:refs/heads/${branch}`]);
          return;
        } catch (err) {
          if (attempt >= PUSH_ATTEMPTS || !(err instanceof PluginError && LOST_RACE.test(err.detail))) throw err;
        }
        // Writers that lost together would otherwise retry together.
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt + Math.random() * 200 * attempt));
      }
    };

    const read = ({ abs }: { abs: string }) =>
      queued(async () => {
        await sync();
        return readFileIfExists(subject, abs);
      });
    const createOnce = ({ rel, abs }: { rel: string; abs: string }, kind: ArtifactKind, content: string, message: string | undefined) =>
      queued(async () => {
        let stored = content;
        // Runs again on the other writer's tip after a lost push race, and then finds their file.
        await change(rel, 'store', message, async () => {
          const existing = await readFileIfExists(subject, abs);
          if (existing !== null) stored = existing;
          else await writeFileAtomic(subject, abs, content, artifactMode(kind));
          return existing === null;
        });
        return stored;
      });

    const storage: StoragePlugin = {
      stores: (kind) => !kinds || kinds.has(kind),
      get: async (name, kind) => read(fileOf(name, kind)),
      put: (name, kind, content, message) =>
        queued(async () => {
          const { rel, abs } = fileOf(name, kind);
          await change(rel, 'store', message, async () => {
            await writeFileAtomic(subject, abs, content, artifactMode(kind));
            return true;
          });
        }),
      create: async (name, kind, content, message) => createOnce(fileOf(name, kind), kind, content, message),
      getFile: async (file, kind) => read(fileNamed(file, kind)),
      createFile: async (file, kind, content, message) => createOnce(fileNamed(file, kind), kind, content, message),
      remove: (name, kind, message) =>
        queued(async () => {
          const { rel, abs } = fileOf(name, kind);
          await change(rel, 'remove', message, async () => {
            try {
              await fs.rm(abs);
              return true;
            } catch (err) {
              if (errnoCode(err) === 'ENOENT') return false;
              throw fsError(subject, `cannot remove ${rel}`, err);
            }
          });
        }),
      locate: (name, kind) => `git:${withoutUserinfo(url)} ${fileOf(name, kind).rel}${configuredBranch ? ` (branch ${configuredBranch})` : ''}`,
      // The clone outlives this instance on purpose: the next activity reuses it.
      close: async () => {},
    };
    return storage;
  };
}

export const createGitStorage: StorageFactory = gitStorageFactory();
