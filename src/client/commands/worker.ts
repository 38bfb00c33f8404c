// `autossl worker`: a worker alone, against any Temporal server or cluster.
import { CONNECTION_OPTIONS, type CommandSpec } from '../cli';
import type { Context } from '../context';
import { startLifecycles, targetFrom } from '../temporal';
import { checkIntervalOption, checkSettings } from '../follow';
import { runUntilSignal } from '../run-worker';
import { loadFromOptions, pluginEnvironment } from '../context';

export const spec: CommandSpec = {
  name: 'worker',
  summary: 'Run a worker (workflows + activities) against a Temporal server or cluster.',
  description: [
    'Connects to --address (or $TEMPORAL_ADDRESS, then 127.0.0.1:7233) and runs the certificate workflows and the',
    'activities that reach servers, storage and CAs, until Ctrl-C. Run several on different machines to scale out;',
    'credentials are resolved here, on the worker (--credentials, --credentials-file, environment).',
    'With --blueprint, the lifecycle workflow of every blueprint is started (or updated and woken) first.',
  ].join('\n'),
  options: { ...checkIntervalOption, ...CONNECTION_OPTIONS },
};

export async function run(ctx: Context): Promise<number> {
  const target = targetFrom(ctx.values);
  const blueprints = await loadFromOptions(ctx, false);
  const settings = checkSettings(ctx);
  const { NativeConnection } = await import('@temporalio/worker');
  (await import('../../worker/logging')).installLogger(ctx.debug ? 'DEBUG' : 'INFO');
  const { createWorker } = await import('../../worker/worker');
  const connection = await NativeConnection.connect({ address: target.address });
  try {
    const worker = await createWorker({ connection, namespace: target.namespace, taskQueue: target.taskQueue, env: pluginEnvironment(ctx, false) });
    const running = runUntilSignal(worker);
    await startLifecycles(target, blueprints, settings, ctx.io);
    ctx.io.err(`autossl worker on ${target.address}, namespace ${target.namespace}, task queue ${target.taskQueue}; Ctrl-C stops it`);
    await running;
  } finally {
    await connection.close();
  }
  return 0;
}
