// The worker: lifecycle workflows plus the activities that reach servers, storage and CAs.
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities';
import type { PluginEnvironment } from '../plugins/open';
import { TASK_QUEUE } from '../workflows/definitions';

export const workflowsPath = require.resolve('../workflows');

/** Bundles the workflow code once; tests share one bundle across workers. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietLogger });
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  env: PluginEnvironment;
  workflowBundle?: WorkflowBundleWithSourceMap;
}

const MAX_CACHED_WORKFLOWS = 250;

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: createActivities(opts.env),
    // Bundled here rather than by Worker.create, whose bundler logs webpack's whole report.
    workflowBundle: opts.workflowBundle ?? (await bundleWorkflows()),
    // Certificates sleep for weeks: keeping thousands cached only costs memory, and each run's history is a
    // single short cycle (continue-as-new), so a wake-up replays in no time.
    maxCachedWorkflows: MAX_CACHED_WORKFLOWS,
    // Heartbeats go out as they are made instead of being held back for most of the heartbeat timeout: the
    // issuance heartbeats its HTTP-01 tokens before placing each, and the next attempt can only remove the
    // files a dead worker left if the server has heard of every one of them.
    maxHeartbeatThrottleInterval: 0,
    // On SIGTERM (docker stop allows 10 s) a deploy or store in progress finishes rather than being cut off;
    // what is still running after this is cancelled and retried by another worker.
    shutdownGraceTime: '8s',
  });
}
