// Temporal client helpers shared by the actions that talk to the lifecycle workflows.
import { randomUUID } from 'node:crypto';
import { Client, Connection, ServiceError, WorkflowNotFoundError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { Blueprint } from '../blueprint/types';
import { ClassifiedError } from '../errors';
import {
  TASK_QUEUE,
  renewSignal,
  statusQuery,
  workflowIdFor,
  type CycleRequest,
  type LifecycleInput,
  type LifecycleStatus,
} from '../workflows/definitions';
import type { ParsedValues } from './cli';
import { str, type Context, type Output } from './context';

/** No Temporal server answered: the user must start one or point at one. */
export class TemporalUnavailable extends ClassifiedError {
  override readonly name = 'TemporalUnavailable';
}

export interface Target {
  address: string;
  namespace: string;
  taskQueue: string;
}

export const DEFAULT_ADDRESS = '127.0.0.1:7233';

export function targetFrom(values: ParsedValues, env: NodeJS.ProcessEnv = process.env): Target {
  return {
    address: str(values.address) ?? env.TEMPORAL_ADDRESS ?? DEFAULT_ADDRESS,
    namespace: str(values.namespace) ?? env.TEMPORAL_NAMESPACE ?? 'default',
    taskQueue: str(values['task-queue']) ?? TASK_QUEUE,
  };
}

export interface Session extends Target {
  client: Client;
  /**
   * Only when this command runs the embedded server and a worker itself: waits (up to `deadline`) until the
   * workflows have no step left to run, so that their tracking log and notifications are not left to the next run.
   */
  settle?(workflowIds: string[], deadline: number): Promise<void>;
  close(): Promise<void>;
}

/** What a command needs of a worker when it runs on the embedded server: activities too, workflows only (to answer queries), or none. */
export type WorkerNeed = 'full' | 'queries' | 'none';

export interface SessionOptions {
  /** The action, recorded in the data dir lock. */
  command: string;
  worker: WorkerNeed;
  /** How long to wait for another run holding the data dir (default 600 s). */
  lockWaitMs?: number;
  /** Set when this command cannot work on an embedded server that ends with it: the UsageError to give instead. */
  embeddedRefusal?: string;
}

/**
 * The Temporal server this command talks to: the one given (--address, $TEMPORAL_ADDRESS); else the data dir's
 * `autossl server` or whatever answers at 127.0.0.1:7233; else the embedded server over the data dir's
 * database, run by this command for its own duration with the worker it needs (cron-style).
 */
export async function openSession(ctx: Context, opts: SessionOptions): Promise<Session> {
  const target = targetFrom(ctx.values);
  if (str(ctx.values.address) || process.env.TEMPORAL_ADDRESS) return connect(target);
  const { localSession } = await import('./embedded');
  return localSession(ctx, target, opts);
}

export async function connect(target: Target): Promise<Session> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: target.address, connectTimeout: '5s' });
  } catch (err) {
    throw new TemporalUnavailable(
      `no Temporal server answers at ${target.address} (${err instanceof Error ? err.message : err}); ` +
        "start one with 'autossl server' or give --address / TEMPORAL_ADDRESS",
    );
  }
  return { ...target, client: new Client({ connection, namespace: target.namespace }), close: () => connection.close() };
}

/** Starts the certificate's workflow, or signals the running one, with a request the CLI can follow. */
export async function requestCycle(
  session: Session,
  blueprint: Blueprint,
  request: Omit<CycleRequest, 'id'>,
  settings?: LifecycleInput['settings'],
): Promise<string> {
  const id = randomUUID();
  await session.client.workflow.signalWithStart('certificateLifecycle', {
    workflowId: workflowIdFor(blueprint.name),
    taskQueue: session.taskQueue,
    args: [{ blueprint, settings } satisfies LifecycleInput],
    signal: renewSignal,
    signalArgs: [{ ...request, id, blueprint }],
    staticSummary: `certificate ${blueprint.name}: ${blueprint.certificate.domains.join(', ')}`,
  });
  return id;
}

/** Starts (or updates and wakes) the lifecycle workflow of every blueprint: what `server` and `worker` do at start. */
export async function startLifecycles(target: Target, blueprints: Blueprint[], settings: LifecycleInput['settings'], io: Output): Promise<void> {
  if (!blueprints.length) return;
  const session = await connect(target);
  try {
    for (const blueprint of blueprints) {
      await requestCycle(session, blueprint, {}, settings);
      io.err(`  lifecycle ${workflowIdFor(blueprint.name)} started`);
    }
  } finally {
    await session.close();
  }
}

/** A workflow that exists but did not answer a query in time: no worker runs, or the workers are busy. */
export class WorkflowUnanswered extends ClassifiedError {
  override readonly name = 'WorkflowUnanswered';
}

// A query is answered by a worker; without one, the server would hold it for its own 30 s default.
const QUERY_TIMEOUT_MS = 10_000;

/** The workflow's status; `null` when there is no such workflow; `WorkflowUnanswered` when no worker answers in time. */
export async function queryStatus(session: Session, workflowId: string, timeoutMs = QUERY_TIMEOUT_MS): Promise<LifecycleStatus | null> {
  const deadline = Date.now() + timeoutMs;
  try {
    return await session.client.connection.withDeadline(deadline, () => session.client.workflow.getHandle(workflowId).query(statusQuery));
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    if (err instanceof ServiceError && Date.now() >= deadline) {
      // Queries go to the task queue the workflow runs on, which need not be this command's --task-queue.
      const { taskQueue } = await session.client.workflow.getHandle(workflowId).describe();
      const why = (await noWorker(session, taskQueue)) ?? `the workers on task queue '${taskQueue}' are busy or stopped; try again shortly`;
      throw new WorkflowUnanswered(`${workflowId} did not answer within ${Math.round(timeoutMs / 1000)} s: ${why}`);
    }
    throw err;
  }
}

/** What to do when the server has seen no worker poll the task queue lately; undefined when one does. */
export async function noWorker(session: Session, taskQueue: string): Promise<string | undefined> {
  const { pollers } = await session.client.workflowService.describeTaskQueue({
    namespace: session.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
  });
  return pollers?.length ? undefined : `no worker polls task queue '${taskQueue}': start one with 'autossl worker' (or 'autossl server')`;
}

/** A followed cycle did not finish in the time given; the request itself stays with the workflow. */
export class CycleTimeout extends ClassifiedError {
  override readonly name = 'CycleTimeout';
}

export interface CycleOutcome {
  status: LifecycleStatus;
  /** The request was served and its cycle finished; false while a manual CA's certificate is awaited. */
  finished: boolean;
  /**
   * A cycle that was under way when the request came (woken by a timer, or left unfinished by a stopped run) and
   * was seen to finish first: the request's own cycle came after it.
   */
  earlier?: number;
}

/**
 * Follows a request until its cycle finishes, printing each state change (of an earlier cycle still under way
 * too). Returns early when the cycle running waits on a person: the request is then served after the delivery.
 */
export async function waitForCycle(
  session: Session,
  workflowId: string,
  /** The request's id, or the number of the cycle to follow (one already under way). */
  requestId: string | number,
  io: Output,
  timeoutMs: number,
): Promise<CycleOutcome> {
  const deadline = Date.now() + timeoutMs;
  let lastState = '';
  let toldUnanswered = false;
  let earlier: number | undefined;
  for (;;) {
    const status = await queryStatus(session, workflowId, Math.max(1_000, Math.min(QUERY_TIMEOUT_MS, deadline - Date.now()))).catch(
      (err: unknown) => {
        if (!(err instanceof WorkflowUnanswered)) throw err;
        // The request is queued: it is served when a worker comes. Say why nothing moves, once.
        if (!toldUnanswered) io.err(`  waiting: ${err.message}`);
        toldUnanswered = true;
        return null;
      },
    );
    if (status) {
      const cycle = status.lastCycle;
      const mine = typeof requestId === 'number' ? cycle?.number === requestId : (cycle?.requestIds.includes(requestId) ?? false);
      if (!mine && cycle && !cycle.finishedAt) earlier = cycle.number;
      if ((mine || earlier !== undefined) && status.state !== lastState) {
        io.err(`  ${status.name}: ${status.state} - ${status.reason}${mine ? '' : ` (cycle ${cycle?.number}, under way before this request)`}`);
        lastState = status.state;
      }
      if (mine && cycle?.finishedAt) return { status, finished: true, ...(earlier !== undefined && { earlier }) };
      if (status.state === 'AwaitingCertificate') return { status, finished: false };
    }
    if (Date.now() > deadline) {
      throw new CycleTimeout(
        `${workflowId}: not finished after ${Math.round(timeoutMs / 1000)} s; the request stays queued, follow it with 'autossl status'`,
      );
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
