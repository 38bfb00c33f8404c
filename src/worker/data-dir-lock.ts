// One process at a time runs a Temporal server over a data dir's database: two dev servers on one SQLite file
// would corrupt it. `autossl server` and every one-shot run on the embedded server take this lock first. It is a
// file created atomically (a complete file linked into place) that names its owner; an owner that is gone (its
// pid dead, or reused by another process after a crash or reboot) is taken over, and the Temporal server it left
// running over the database is stopped first.
import { randomUUID } from 'node:crypto';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClassifiedError } from '../errors';
import { createFileExclusive, PUBLIC_FILE_MODE, readFileIfExists, writeFileAtomic } from '../plugins/fs-atomic';

export const LOCK_FILE = 'autossl.lock';

/** What the lock file says about the process holding it. */
export interface LockOwner {
  pid: number;
  /** The action it runs: `server`, `renew`, `status`, ... */
  command: string;
  since: string;
  /** Boot and start time of the process, so that a pid reused by another process is not taken for the owner. */
  identity?: string;
  token?: string;
  /** The Temporal dev server it runs over the database. */
  server?: { pid?: number; identity?: string; address: string };
}

/** The data dir stayed locked by a live process; the message says by whom and what to do. */
export class DataDirBusy extends ClassifiedError {
  override readonly name = 'DataDirBusy';
  constructor(
    message: string,
    readonly owner: LockOwner,
  ) {
    super(message);
  }
}

export interface DataDirLock {
  file: string;
  /** Records the dev server started over the database: its clients find it there, and a next owner stops it if it outlives this process. */
  setServer(server: { pid?: number; address: string }): Promise<void>;
  /** Removes the lock, if it is still this process's. */
  release(): Promise<void>;
}

export interface LockOptions {
  /** How long to wait for a live owner that is not `autossl server` (which never ends by itself). */
  waitMs: number;
  /** Told once, when the lock is held by a live process and this one starts waiting. */
  onWait?: (owner: LockOwner) => void;
  /** Told when a dead owner's lock is taken over. */
  onTakeover?: (owner: LockOwner, note: string) => void;
}

const POLL_MS = 250;
/** A takeover takes milliseconds; a takeover marker older than this was left by a process that died in it. */
const TAKEOVER_STALE_MS = 30_000;
const SERVER_STOP_MS = 10_000;

let bootId: string | undefined | null = null;

/** Boot id and start time of `pid` (Linux); undefined where /proc does not tell. */
export function processIdentity(pid: number): string | undefined {
  try {
    bootId ??= readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may hold spaces: state is the 3rd field, start time the 22nd.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return 'zombie';
    return `${bootId}:${fields[19]}`;
  } catch {
    return undefined;
  }
}

/** Whether the process that had `identity` still runs as `pid`. */
export function isAlive(pid: number, identity?: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return false;
  }
  const now = processIdentity(pid);
  if (now === 'zombie') return false;
  return identity === undefined || now === undefined || now === identity;
}

function parseOwner(text: string | null): LockOwner | null {
  if (text === null) return null;
  try {
    const owner = JSON.parse(text) as LockOwner;
    return Number.isInteger(owner?.pid) ? owner : null;
  } catch {
    return null;
  }
}

/** The lock's owner as recorded, `null` when the data dir is not locked (or the lock is unreadable). */
export async function readLockOwner(dataDir: string): Promise<LockOwner | null> {
  return parseOwner(await readFileIfExists('data dir lock', path.join(dataDir, LOCK_FILE)));
}

export const ownerAlive = (owner: LockOwner): boolean => isAlive(owner.pid, owner.identity);

/** "pid 123 (autossl renew, since 2024-...)" */
export const describeOwner = (owner: LockOwner): string => `pid ${owner.pid} (autossl ${owner.command}, since ${owner.since})`;

const signal = (pid: number, name: NodeJS.Signals) => {
  try {
    process.kill(pid, name);
  } catch {
    // Gone already.
  }
};

/** Stops the Temporal server a dead owner left running over the database (SIGTERM, then SIGKILL). */
async function stopLeftover({ pid, identity }: NonNullable<LockOwner['server']>): Promise<boolean> {
  if (pid === undefined || !isAlive(pid, identity)) return false;
  signal(pid, 'SIGTERM');
  const deadline = Date.now() + SERVER_STOP_MS;
  while (isAlive(pid, identity)) {
    if (Date.now() > deadline) signal(pid, 'SIGKILL');
    await sleep(50);
  }
  return true;
}

/**
 * Removes the lock of a dead owner, unless another process did first or took it since. A takeover marker makes
 * the check and the removal one step for all contenders. False when another contender is at it.
 */
async function takeOver(file: string, seen: string, opts: LockOptions): Promise<boolean> {
  const marker = `${file}.takeover`;
  const mine = `${process.pid} ${randomUUID()}`;
  if ((await createFileExclusive('data dir lock', marker, mine, PUBLIC_FILE_MODE)) !== mine) {
    const age =
      Date.now() -
      (await fs.stat(marker).then(
        (s) => s.mtimeMs,
        () => Date.now(),
      ));
    if (age > TAKEOVER_STALE_MS) await fs.rm(marker, { force: true });
    return false;
  }
  try {
    if ((await readFileIfExists('data dir lock', file)) !== seen) return true;
    const owner = parseOwner(seen);
    const stopped = owner?.server ? await stopLeftover(owner.server) : false;
    await fs.rm(file, { force: true });
    if (owner) {
      opts.onTakeover?.(owner, stopped ? `stopped the Temporal server (pid ${owner.server!.pid}) it left running` : 'nothing of it was left running');
    }
    return true;
  } finally {
    await fs.rm(marker, { force: true });
  }
}

/**
 * Takes the data dir's lock for `command`, waiting up to `waitMs` while another one-shot run holds it. A live
 * `autossl server` owner is a DataDirBusy at once (the caller may use that server instead), as is a wait that
 * runs out.
 */
export async function lockDataDir(dataDir: string, command: string, opts: LockOptions): Promise<DataDirLock> {
  await fs.mkdir(dataDir, { recursive: true });
  const file = path.join(path.resolve(dataDir), LOCK_FILE);
  // The token tells this lock from an identical-looking one (same process, same millisecond).
  const me: LockOwner = { pid: process.pid, command, since: new Date().toISOString(), identity: processIdentity(process.pid), token: randomUUID() };
  const content = `${JSON.stringify(me)}\n`;
  const deadline = Date.now() + opts.waitMs;
  let told = false;
  for (;;) {
    const found = await createFileExclusive('data dir lock', file, content, PUBLIC_FILE_MODE);
    if (found === content) break;
    const owner = parseOwner(found);
    // An unreadable lock can only be a partial copy or an edit by hand: nothing runs that wrote it.
    if (!owner || !ownerAlive(owner)) {
      if (!(await takeOver(file, found, opts))) await sleep(50);
      continue;
    }
    if (owner.command === 'server') {
      throw new DataDirBusy(`data dir ${dataDir} is in use by 'autossl server', ${describeOwner(owner)}`, owner);
    }
    if (Date.now() >= deadline) {
      throw new DataDirBusy(
        `data dir ${dataDir} is still in use by ${describeOwner(owner)} after ${Math.round(opts.waitMs / 1000)} s; ` +
          'one run at a time works on it: try again when it has finished',
        owner,
      );
    }
    if (!told) opts.onWait?.(owner);
    told = true;
    await sleep(POLL_MS);
  }

  let current = content;
  /** The lock is still the one this process wrote: a takeover by mistake must not be undone by our release. */
  const stillMine = async () => (await readFileIfExists('data dir lock', file)) === current;
  return {
    file,
    async setServer({ pid, address }) {
      if (!(await stillMine())) return;
      const server = { pid, identity: pid === undefined ? undefined : processIdentity(pid), address };
      current = `${JSON.stringify({ ...me, server })}\n`;
      await writeFileAtomic('data dir lock', file, current, PUBLIC_FILE_MODE);
    },
    async release() {
      if (await stillMine()) await fs.rm(file, { force: true });
    },
  };
}
