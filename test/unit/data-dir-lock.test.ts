// The data dir lock on a real file system, with real processes as owners: one holder at a time, a dead owner's
// lock (and the Temporal server it left running) taken over, a live one waited for or refused with its name.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { DataDirBusy, LOCK_FILE, lockDataDir, processIdentity, readLockOwner, type LockOwner } from '../../src/worker/data-dir-lock';
import { makeTempDir } from '../helpers/pki';

let dir: string;
const children: ChildProcess[] = [];
beforeEach(async () => {
  dir = await makeTempDir('autossl-lock-');
});
afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await fs.rm(dir, { recursive: true, force: true });
});

/** A process that ran and is gone: its pid is dead. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await once(child, 'exit');
  return child.pid!;
}

function longRunning(): ChildProcess {
  const child = spawn('sleep', ['60']);
  children.push(child);
  return child;
}

const writeLock = (owner: LockOwner) => fs.writeFile(path.join(dir, LOCK_FILE), JSON.stringify(owner));
const never = { waitMs: 0 };

describe('data dir lock', () => {
  test('holds the owner in the lock file until released', async () => {
    const lock = await lockDataDir(dir, 'renew', never);
    const owner = await readLockOwner(dir);
    assert.equal(owner?.pid, process.pid);
    assert.equal(owner?.command, 'renew');
    await lock.setServer({ pid: 4242, address: '127.0.0.1:40000' });
    assert.equal((await readLockOwner(dir))?.server?.address, '127.0.0.1:40000');
    await lock.release();
    assert.equal(await readLockOwner(dir), null);
    await assert.rejects(fs.access(path.join(dir, LOCK_FILE)));
  });

  test('a live owner is waited for, then named in the refusal', async () => {
    const held = await lockDataDir(dir, 'renew', never);
    const waited: LockOwner[] = [];
    await assert.rejects(lockDataDir(dir, 'status', { waitMs: 600, onWait: (o) => waited.push(o) }), (err: unknown) => {
      assert.ok(err instanceof DataDirBusy);
      assert.match(err.message, new RegExp(`data dir .* is still in use by pid ${process.pid} \\(autossl renew, since .*\\) after 1 s`));
      return true;
    });
    assert.deepEqual(
      waited.map((o) => [o.pid, o.command]),
      [[process.pid, 'renew']],
      'told once that it waits',
    );
    await held.release();
  });

  test('a waiting run gets the lock once the owner releases it', async () => {
    const held = await lockDataDir(dir, 'renew', never);
    const next = lockDataDir(dir, 'renew', { waitMs: 30_000 });
    setTimeout(() => void held.release(), 300);
    const lock = await next;
    assert.equal((await readLockOwner(dir))?.pid, process.pid);
    await lock.release();
  });

  test('a live autossl server is refused at once, with its address for clients', async () => {
    const server = await lockDataDir(dir, 'server', never);
    await server.setServer({ address: '127.0.0.1:7233' });
    const started = Date.now();
    await assert.rejects(lockDataDir(dir, 'renew', { waitMs: 30_000 }), (err: unknown) => {
      assert.ok(err instanceof DataDirBusy);
      assert.equal(err.owner.command, 'server');
      assert.equal(err.owner.server?.address, '127.0.0.1:7233');
      return true;
    });
    assert.ok(Date.now() - started < 10_000, 'no waiting for a server, which never ends by itself');
    await server.release();
  });

  test("takes over a dead owner's lock", async () => {
    const pid = await deadPid();
    await writeLock({ pid, command: 'renew', since: '2024-01-01T00:00:00.000Z' });
    const taken: LockOwner[] = [];
    const lock = await lockDataDir(dir, 'renew', { waitMs: 0, onTakeover: (o) => taken.push(o) });
    assert.deepEqual(
      taken.map((o) => o.pid),
      [pid],
    );
    assert.equal((await readLockOwner(dir))?.pid, process.pid);
    await lock.release();
  });

  test('a pid reused by another process is not taken for the owner', async (t) => {
    if (processIdentity(process.pid) === undefined) return t.skip('no /proc here to tell processes apart');
    // This very pid, but a process that started at another time: the owner is gone.
    await writeLock({ pid: process.pid, command: 'renew', since: '2024-01-01T00:00:00.000Z', identity: 'another-boot:1' });
    const lock = await lockDataDir(dir, 'renew', never);
    assert.equal((await readLockOwner(dir))?.identity, processIdentity(process.pid));
    await lock.release();
  });

  test('stops the Temporal server a dead owner left running over the database', async () => {
    const leftover = longRunning();
    const exited = once(leftover, 'exit');
    await writeLock({
      pid: await deadPid(),
      command: 'renew',
      since: '2024-01-01T00:00:00.000Z',
      server: { pid: leftover.pid!, identity: processIdentity(leftover.pid!), address: '127.0.0.1:40000' },
    });
    const notes: string[] = [];
    const lock = await lockDataDir(dir, 'renew', { waitMs: 0, onTakeover: (_, note) => notes.push(note) });
    assert.deepEqual(await exited, [null, 'SIGTERM']);
    assert.deepEqual(notes, [`stopped the Temporal server (pid ${leftover.pid}) it left running`]);
    await lock.release();
  });

  test('an unreadable lock is taken over', async () => {
    await fs.writeFile(path.join(dir, LOCK_FILE), '{"pid": ');
    const lock = await lockDataDir(dir, 'renew', never);
    assert.equal((await readLockOwner(dir))?.pid, process.pid);
    await lock.release();
  });

  test('contenders hold it one at a time', async () => {
    let holders = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        const lock = await lockDataDir(dir, 'renew', { waitMs: 60_000 });
        holders += 1;
        most = Math.max(most, holders);
        await new Promise((r) => setTimeout(r, 20));
        holders -= 1;
        await lock.release();
      }),
    );
    assert.equal(most, 1);
  });

  test('release leaves a lock that is no longer its own', async () => {
    const lock = await lockDataDir(dir, 'renew', never);
    const other: LockOwner = { pid: process.pid, command: 'server', since: new Date().toISOString() };
    await writeLock(other);
    await lock.release();
    assert.deepEqual(await readLockOwner(dir), other);
  });
});
