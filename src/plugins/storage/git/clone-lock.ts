// The working clones' cache: a private folder, and a lock file ordering processes that share it.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import { PluginConfigError, PluginIoError, errnoCode, fsError } from '../../errors';
import { KEY_FILE_MODE } from '../../fs-atomic';

/** The clones hold private keys (in the working tree and in .git/objects): only their owner may enter. */
export const PRIVATE_FOLDER_MODE = 0o700;
/** How long an operation waits for another process to finish with the clone. */
const LOCK_WAIT_MS = 60_000;

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

/**
 * The queue orders operations inside this process; this lock file orders them across processes sharing the
 * cache folder (the CLI's `check` next to a worker). A lock naming a dead process, or this one (a restarted
 * container gets its old pid back, and the queue means this process holds no other lock on the clone), is stale.
 */
export async function lockClone(lockFile: string, subject: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await fs.writeFile(lockFile, String(process.pid), { flag: 'wx', mode: KEY_FILE_MODE });
      return () => fs.rm(lockFile, { force: true });
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw fsError(subject, `cannot create lock ${lockFile}`, err);
    }
    // Empty while its creator is still writing its pid: wait for it like for a live holder.
    const holder = Number(await fs.readFile(lockFile, 'utf8').catch(() => ''));
    if (holder > 0 && (holder === process.pid || !isRunning(holder))) {
      await fs.rm(lockFile, { force: true });
      continue;
    }
    if (Date.now() > deadline) throw new PluginIoError(subject, `the working clone is locked by process ${holder} (${lockFile})`, undefined);
    await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 100));
  }
}

export async function preparePrivateFolder(folder: string, subject: string): Promise<void> {
  try {
    await fs.mkdir(folder, { recursive: true, mode: PRIVATE_FOLDER_MODE });
    const stat = await fs.lstat(folder);
    // A shared temporary directory lets anyone create the folder first and read every key we put in it.
    if (!stat.isDirectory() || stat.uid !== os.userInfo().uid) {
      throw new PluginConfigError(subject, `clone cache ${folder} is not a folder owned by this user`);
    }
    await fs.chmod(folder, PRIVATE_FOLDER_MODE);
  } catch (err) {
    throw fsError(subject, `cannot prepare clone cache ${folder}`, err);
  }
}
