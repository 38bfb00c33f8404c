// SFTP as the atomic-write primitives of fs-atomic: the same all-or-nothing deploy as for local files, with
// OpenSSH's extensions (posix-rename, hardlink, fsync) and SFTP status codes turned into typed plugin errors.
import path from 'node:path';
import type { Client, SFTPWrapper } from 'ssh2';
import { PluginConfigError, PluginError, PluginIoError, fsError, messageOf } from '../../errors';
import { FOLDER_MODE, type AtomicFileOps } from '../../fs-atomic';
import { shellQuote } from '../../shell';
import { exec, tail } from './command';

export interface Session {
  client: Client;
  sftp: SFTPWrapper;
}

export interface Ownership {
  owner?: string;
  group?: string;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks). */
const SFTP_STATUS: Record<number, string> = {
  1: 'SSH_FX_EOF',
  2: 'SSH_FX_NO_SUCH_FILE',
  3: 'SSH_FX_PERMISSION_DENIED',
  4: 'SSH_FX_FAILURE',
  5: 'SSH_FX_BAD_MESSAGE',
  6: 'SSH_FX_NO_CONNECTION',
  7: 'SSH_FX_CONNECTION_LOST',
  8: 'SSH_FX_OP_UNSUPPORTED',
};
const NO_SUCH_FILE = 2;
const OP_UNSUPPORTED = 8;

const sftpStatus = (err: unknown): number | undefined => {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
};

/** Node-style callback API → promise; ssh2 also throws synchronously (unsupported extension, bad arguments). */
function call<T = void>(start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((err, value) => (err ? reject(err) : resolve(value as T)));
    } catch (err) {
      reject(err);
    }
  });
}

/** An OpenSSH SFTP extension call; a server without it answers like any unsupported operation. */
function extension<T = void>(name: string, start: (cb: (err: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return call(start).catch((err: unknown) => {
    if (err instanceof Error && /does not support this extended request/.test(err.message)) {
      throw Object.assign(new Error(`the SFTP server lacks the ${name} extension`), { code: OP_UNSUPPORTED });
    }
    throw err;
  });
}

export async function readIfExists(subject: string, sftp: SFTPWrapper, file: string): Promise<string | null> {
  try {
    return (await call<Buffer>((cb) => sftp.readFile(file, cb))).toString('utf8');
  } catch (err) {
    if (sftpStatus(err) === NO_SUCH_FILE) return null;
    throw classify(subject, `cannot read ${file}`, err);
  }
}

/** The atomic-write primitives over SFTP; files it creates get `ownership`. */
export function sftpFileOps(subject: string, session: Session, ownership: Ownership): AtomicFileOps {
  const { sftp } = session;
  const statOrNull = (p: string) =>
    call<{ isDirectory(): boolean }>((cb) => sftp.stat(p, cb)).catch((err: unknown) => {
      if (sftpStatus(err) === NO_SUCH_FILE) return null;
      throw err;
    });
  const mkdirp = async (dir: string): Promise<void> => {
    const found = await statOrNull(dir);
    if (found) {
      if (!found.isDirectory()) throw Object.assign(new Error(`${dir} is not a folder`), { code: 'ENOTDIR' });
      return;
    }
    const parent = path.posix.dirname(dir);
    if (parent !== dir) await mkdirp(parent);
    await call((cb) => sftp.mkdir(dir, { mode: FOLDER_MODE }, cb)).catch(async (err: unknown) => {
      // Another deploy may have created it meanwhile.
      if (!(await statOrNull(dir))?.isDirectory()) throw err;
    });
    // The server's umask may have narrowed it, and the web server must be able to traverse acme_dir.
    await call((cb) => sftp.chmod(dir, FOLDER_MODE, cb));
  };
  return {
    path: path.posix,
    mkdirp,
    writeNew: async (file, content, mode) => {
      const handle = await call<Buffer>((cb) => sftp.open(file, 'wx', { mode }, cb));
      try {
        await call((cb) => sftp.fchmod(handle, mode, cb));
        const data = Buffer.from(content, 'utf8');
        await call((cb) => sftp.write(handle, data, 0, data.length, 0, cb));
        await applyOwnership(subject, session, handle, file, ownership);
        await extension('fsync@openssh.com', (cb) => sftp.ext_openssh_fsync(handle, cb)).catch((err: unknown) => {
          // Durability is best effort on servers without the extension; the rename is still atomic.
          if (sftpStatus(err) !== OP_UNSUPPORTED) throw err;
        });
      } catch (err) {
        await call((cb) => sftp.close(handle, cb)).catch(() => undefined);
        throw err;
      }
      await call((cb) => sftp.close(handle, cb));
    },
    linkIfExists: async (existing, alias) => {
      const found = await call<{ isDirectory(): boolean }>((cb) => sftp.lstat(existing, cb)).catch((err: unknown) => {
        if (sftpStatus(err) === NO_SUCH_FILE) return null;
        throw err;
      });
      if (!found) return false;
      if (found.isDirectory()) throw Object.assign(new Error(`${existing} is a folder`), { code: 'EISDIR' });
      await extension('hardlink@openssh.com', (cb) => sftp.ext_openssh_hardlink(existing, alias, cb));
      return true;
    },
    // Plain SFTP rename refuses to replace an existing file; the POSIX one replaces it in one step.
    rename: (from, to) => extension('posix-rename@openssh.com', (cb) => sftp.ext_openssh_rename(from, to, cb)),
    remove: (file) =>
      call((cb) => sftp.unlink(file, cb)).catch((err: unknown) => {
        if (sftpStatus(err) !== NO_SUCH_FILE) throw err;
      }),
    // SFTP cannot sync a folder directly, but OpenSSH's server opens one like a file and fsyncs that
    // descriptor. Best effort: the renames are done and visible, a server that cannot is no reason to fail.
    syncDir: async (dir) => {
      const handle = await call<Buffer>((cb) => sftp.open(dir, 'r', cb)).catch(() => null);
      if (!handle) return;
      await extension('fsync@openssh.com', (cb) => sftp.ext_openssh_fsync(handle, cb)).catch(() => undefined);
      await call((cb) => sftp.close(handle, cb)).catch(() => undefined);
    },
    holds: async (file, content, mode) => {
      const stat = await call<{ mode: number }>((cb) => sftp.stat(file, cb)).catch(() => null);
      if (stat === null || (stat.mode & 0o7777) !== mode) return false;
      return (await readIfExists(subject, sftp, file)) === content;
    },
    classify,
  };
}

/** Numeric ids are set over SFTP; names need the server's own `chown`, which knows its user database. */
async function applyOwnership(subject: string, session: Session, handle: Buffer, file: string, { owner, group }: Ownership): Promise<void> {
  if (owner === undefined && group === undefined) return;
  const numeric = (v: string | undefined) => v === undefined || /^\d+$/.test(v);
  if (numeric(owner) && numeric(group)) {
    // SFTP sets uid and gid together: keep the current one of the two that is not given.
    const current = await call<{ uid: number; gid: number }>((cb) => session.sftp.fstat(handle, cb));
    const uid = owner === undefined ? current.uid : Number(owner);
    const gid = group === undefined ? current.gid : Number(group);
    await call((cb) => session.sftp.fchown(handle, uid, gid, cb));
    return;
  }
  const spec = `${owner ?? ''}${group === undefined ? '' : `:${group}`}`;
  const result = await exec(subject, session.client, `chown ${shellQuote(spec)} ${shellQuote(file)}`);
  if (result.code !== 0) {
    throw new PluginIoError(subject, `chown ${spec} ${file} failed: ${tail(result.stderr) || `status ${result.code}`}`, undefined);
  }
}

/** SFTP status codes → typed plugin errors; errno-style codes (ours, or the socket's) as for local files. */
function classify(subject: string, action: string, err: unknown): PluginError {
  if (err instanceof PluginError) return err;
  const status = sftpStatus(err);
  if (status === undefined) return fsError(subject, action, err);
  const name = SFTP_STATUS[status] ?? `SSH_FX_${status}`;
  if (status === OP_UNSUPPORTED) return new PluginConfigError(subject, `${action}: ${messageOf(err)} (${name})`, { cause: err });
  return new PluginIoError(subject, `${action} (${name})`, name, { cause: err });
}
