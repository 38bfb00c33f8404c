// The worker: lifecycle workflows plus the activities that reach servers, storage and CAs.
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundle, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { createActivities } from '../activities';
import { PUBLIC_FILE_MODE, readFileIfExists, writeFileAtomic } from '../plugins/fs-atomic';
import type { PluginEnvironment } from '../catalog/open';
import { TASK_QUEUE } from '../workflows/definitions';

export const workflowsPath = require.resolve('../workflows');

/** Bundles the workflow code once; tests share one bundle across workers. */
export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath, logger: quietLogger });
}

const BUNDLED_PACKAGES = ['@temporalio/workflow', '@temporalio/common', '@temporalio/worker'];

/**
 * The workflow bundle kept in `dir`, made once per version of the workflow code and of the SDK: bundling takes
 * longer than starting the embedded server, and a one-shot run would otherwise pay for it every time.
 */
export async function cachedWorkflowBundle(dir: string): Promise<WorkflowBundle> {
  const hash = createHash('sha256');
  const sources = path.dirname(workflowsPath);
  for (const name of (await fs.readdir(sources)).filter((n) => n.endsWith('.js')).sort()) {
    hash.update(`${name}\0`).update(await fs.readFile(path.join(sources, name)));
  }
  for (const pkg of BUNDLED_PACKAGES) hash.update(`${pkg}@${(require(`${pkg}/package.json`) as { version: string }).version}\0`);
  const name = `workflows-${hash.digest('hex').slice(0, 16)}.js`;
  const cached = await readFileIfExists('workflow bundle', path.join(dir, name)).catch(() => null);
  if (cached !== null) return { code: cached };
  const { code } = await bundleWorkflows();
  // Older versions' bundles go; a folder that cannot be written only costs the bundling time.
  const old = (await fs.readdir(dir).catch(() => [])).filter((f) => /^workflows-[0-9a-f]{16}\.js$/.test(f) && f !== name);
  await Promise.all(old.map((f) => fs.rm(path.join(dir, f), { force: true })));
  await writeFileAtomic('workflow bundle', path.join(dir, name), code, PUBLIC_FILE_MODE).catch(() => undefined);
  return { code };
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

export interface WorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue?: string;
  env: PluginEnvironment;
  workflowBundle?: WorkflowBundle;
  /** Runs workflows only (they answer queries), no activity: nothing outside Temporal is touched. */
  workflowsOnly?: boolean;
}

const MAX_CACHED_WORKFLOWS = 250;

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    activities: opts.workflowsOnly ? undefined : createActivities(opts.env),
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
