// Cron-style runs: with no Temporal server configured, a command uses the data dir's `autossl server` or whatever
// answers at the default address; failing both, it runs the embedded dev server over the data dir's database for
// its own duration, with the worker it needs in this process, and stops both when it is done. The history stays
// in the data dir, so the next run (or `autossl server`) carries on where this one stopped.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, Connection } from '@temporalio/client';
import { DataDirBusy, describeOwner, lockDataDir, ownerAlive, readLockOwner, type DataDirLock } from '../worker/data-dir-lock';
import { canConnect, startDevServer } from '../worker/dev-server';
import { EXIT, UsageError } from './cli';
import { pluginEnvironment, type Context } from './context';
import { connect, DEFAULT_ADDRESS, TemporalUnavailable, type Session, type SessionOptions, type Target } from './temporal';

const LOCK_WAIT_MS = 600_000;
/** After the followed cycles, how long their tracking log and notifications may take before the worker stops. */
const SETTLE_MS = 30_000;

/** Something accepts connections at `address` (refused at once when nothing listens, unlike a gRPC connect). */
function listening(address: string): Promise<boolean> {
  const at = address.lastIndexOf(':');
  return canConnect(address.slice(0, at), Number(address.slice(at + 1)));
}

export async function localSession(ctx: Context, target: Target, opts: SessionOptions): Promise<Session> {
  const owner = await readLockOwner(ctx.dataDir);
  const alive = owner !== null && ownerAlive(owner);
  if (alive && owner.command === 'server' && owner.server) return connect({ ...target, address: owner.server.address });
  // What a killed `autossl server` left running at the default address has no worker; taking the lock stops it.
  const leftover = owner !== null && !alive && owner.server?.address === DEFAULT_ADDRESS;
  if (!leftover && (await listening(DEFAULT_ADDRESS))) {
    try {
      return await connect({ ...target, address: DEFAULT_ADDRESS });
    } catch (err) {
      if (!(err instanceof TemporalUnavailable)) throw err;
      ctx.io.err(`  something listens at ${DEFAULT_ADDRESS} but is no Temporal server; using the embedded one`);
    }
  }
  if (opts.embeddedRefusal) throw new UsageError(opts.embeddedRefusal);
  return embedded(ctx, target, opts);
}

/** The data dir's lock for `command`, saying on stderr what it waits for and what it took over. */
export function lockForCommand(ctx: Context, command: string, waitMs = LOCK_WAIT_MS): Promise<DataDirLock> {
  const { io, dataDir } = ctx;
  return lockDataDir(dataDir, command, {
    waitMs,
    onWait: (o) => io.err(`  waiting for ${describeOwner(o)} to finish with data dir ${dataDir} (up to ${Math.round(waitMs / 1000)} s)`),
    onTakeover: (o, note) => io.err(`  data dir ${dataDir}: ${describeOwner(o)} ended without releasing it; taken over (${note})`),
  });
}

async function embedded(ctx: Context, target: Target, opts: SessionOptions): Promise<Session> {
  const { io, dataDir } = ctx;
  const lock = await lockForCommand(ctx, opts.command, opts.lockWaitMs).catch((err: unknown) => {
    if (!(err instanceof DataDirBusy)) throw err;
    // `autossl server` started meanwhile: it is the one to use.
    if (err.owner.command === 'server' && err.owner.server) return err.owner.server.address;
    throw new TemporalUnavailable(err.message);
  });
  if (typeof lock === 'string') return connect({ ...target, address: lock });

  // Undone in reverse order by close(), whatever was reached.
  const undo: (() => Promise<unknown>)[] = [() => lock.release()];
  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      let failure: unknown;
      for (const step of undo.splice(0).reverse()) await step().catch((err: unknown) => (failure ??= err));
      if (failure) throw failure;
    })());
  const onSignal = (signal: NodeJS.Signals) => {
    io.err(`autossl: ${signal}: stopping the embedded Temporal server; what was requested stays with the workflows and the next run carries it on`);
    void close().finally(() => process.exit(EXIT.action));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  undo.push(async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  });

  try {
    const workerModule = opts.worker === 'none' ? undefined : import('../worker/worker');
    // The workflow code bundle (made on first use) is read while the server starts.
    const bundling = workerModule?.then((w) => w.cachedWorkflowBundle(path.join(dataDir, 'cache')));
    bundling?.catch(() => undefined);
    const server = await startDevServer({ dataDir, ui: false, namespace: target.namespace, log: ctx.debug ? io.err : undefined }).catch(
      (err: Error) => {
        throw new TemporalUnavailable(
          `no Temporal server answers at ${DEFAULT_ADDRESS} and the embedded one over ${dataDir} did not start: ${err.message}`,
        );
      },
    );
    undo.push(() => server.stop());
    await lock.setServer({ pid: server.pid, address: server.address });
    const connection = await Connection.connect({ address: server.address });
    undo.push(() => connection.close());
    const session: Session = { ...target, address: server.address, client: new Client({ connection, namespace: target.namespace }), close };
    if (workerModule && bundling) {
      const { NativeConnection } = await import('@temporalio/worker');
      // Warnings are news on a renew; a workflows-only worker would only warn that it has no activities.
      (await import('../worker/logging')).installLogger(ctx.debug ? 'DEBUG' : opts.worker === 'full' ? 'WARN' : 'ERROR');
      const native = await NativeConnection.connect({ address: server.address });
      undo.push(() => native.close());
      const worker = await (
        await workerModule
      ).createWorker({
        connection: native,
        namespace: target.namespace,
        taskQueue: target.taskQueue,
        env: pluginEnvironment(ctx, false),
        workflowBundle: await bundling,
        workflowsOnly: opts.worker === 'queries',
      });
      const running = worker.run();
      running.catch((err: Error) => io.err(`autossl: the worker in this process stopped: ${err.message}`));
      undo.push(async () => {
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      });
      if (opts.worker === 'full') session.settle = (ids, deadline) => settle(session, ids, Math.min(deadline, Date.now() + SETTLE_MS));
    }
    return session;
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
}

/** Waits until each workflow waits on a timer or a person: no workflow task and no activity left to run. */
async function settle(session: Session, workflowIds: string[], deadline: number): Promise<void> {
  for (const id of workflowIds) {
    while (Date.now() < deadline) {
      const { status, raw } = await session.client.workflow.getHandle(id).describe();
      if (status.name !== 'RUNNING' || (!raw.pendingWorkflowTask && !raw.pendingActivities?.length)) break;
      await sleep(100);
    }
  }
}
