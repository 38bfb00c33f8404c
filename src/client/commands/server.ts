// `autossl server`: everything on one machine: the Temporal dev server (SQLite under the data folder, Web UI),
// a worker, and a lifecycle workflow for every blueprint given.
import { CONNECTION_OPTIONS, EXIT, UsageError, type CommandSpec } from '../cli';
import { loadFromOptions, pluginEnvironment, str, type Context } from '../context';
import { runUntilSignal } from '../run-worker';
import { TASK_QUEUE } from '../../workflows/definitions';
import { checkIntervalOption, checkSettings } from '../follow';
import { startLifecycles } from '../temporal';
import { lockForCommand } from '../embedded';

export const spec: CommandSpec = {
  name: 'server',
  summary: "Run the embedded Temporal server, a worker and every blueprint's lifecycle, until Ctrl-C.",
  description: [
    'Starts the Temporal dev server (state in <data-dir>/temporal.sqlite, so certificates survive restarts; the',
    'Web UI on --ui-port), a worker in this process, and a lifecycle workflow for every blueprint of --blueprint',
    '(an already running one is updated with the blueprint and woken). Prints where the Web UI is. Ctrl-C stops',
    'everything cleanly. The temporal binary is found via $AUTOSSL_TEMPORAL_CLI, PATH, <data-dir>/tools, or pip.',
    'It holds the data dir (<data-dir>/autossl.lock): a cron-style run of another action on it waits before it',
    'starts, then uses this server; a second server on the same data dir is refused.',
  ].join('\n'),
  options: {
    port: { type: 'string', value: 'N', help: 'gRPC port of the Temporal frontend (default 7233).' },
    'ui-port': { type: 'string', value: 'N', help: 'Web UI port (default 8233).' },
    ...checkIntervalOption,
    namespace: CONNECTION_OPTIONS.namespace,
    'task-queue': CONNECTION_OPTIONS['task-queue'],
  },
};

function port(value: string | undefined, fallback: number, what: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new UsageError(`${what} must be a port number, got '${value}'`);
  return n;
}

export async function run(ctx: Context): Promise<number> {
  const blueprints = await loadFromOptions(ctx, false);
  const grpcPort = port(str(ctx.values.port), 7233, '--port');
  const uiPort = port(str(ctx.values['ui-port']), 8233, '--ui-port');
  const settings = checkSettings(ctx);
  const namespace = str(ctx.values.namespace) ?? 'default';

  const { DataDirBusy } = await import('../../worker/data-dir-lock');
  // One Temporal server per database: a cron run on the data dir is waited for, another server refused.
  const lock = await lockForCommand(ctx, 'server').catch((err: unknown) => {
    throw err instanceof DataDirBusy ? new UsageError(`${err.message}; one server per data dir`) : err;
  });
  try {
    const { startDevServer } = await import('../../worker/dev-server');
    const { NativeConnection } = await import('@temporalio/worker');
    const { createWorker } = await import('../../worker/worker');
    ctx.io.err(`starting Temporal dev server (data in ${ctx.dataDir})...`);
    const server = await startDevServer({ dataDir: ctx.dataDir, port: grpcPort, uiPort, namespace, log: ctx.debug ? ctx.io.err : undefined });
    try {
      await lock.setServer({ pid: server.pid, address: server.address });
      // Installed only now: the Temporal runtime, until its first connection closes, keeps the process from exiting.
      (await import('../../worker/logging')).installLogger(ctx.debug ? 'DEBUG' : 'INFO');
      const connection = await NativeConnection.connect({ address: server.address });
      try {
        const taskQueue = str(ctx.values['task-queue']);
        const worker = await createWorker({ connection, namespace, taskQueue, env: pluginEnvironment(ctx, false) });
        const running = runUntilSignal(worker);
        await startLifecycles({ address: server.address, namespace, taskQueue: taskQueue ?? TASK_QUEUE }, blueprints, settings, ctx.io);
        ctx.io.out(`autossl server ready: Temporal at ${server.address}, Web UI at ${server.uiUrl ?? '(disabled)'}; Ctrl-C stops`);
        await running;
      } finally {
        await connection.close();
      }
    } finally {
      await server.stop();
    }
  } finally {
    await lock.release();
  }
  ctx.io.err('stopped');
  return EXIT.ok;
}
