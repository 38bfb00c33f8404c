// `autossl status`: what each lifecycle workflow is doing, from the workflows themselves.
import { WorkflowNotFoundError } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import type { temporal } from '@temporalio/proto';
import { workflowIdFor, type LifecycleStatus } from '../../workflows/definitions';
import { CONNECTION_OPTIONS, EXIT, type CommandSpec } from '../cli';
import { loadFromOptions, type Context } from '../context';
import { mapLimit, table } from '../format';
import { noWorker, openSession, queryStatus, WorkflowUnanswered, type Session } from '../temporal';

export const spec: CommandSpec = {
  name: 'status',
  summary: 'Show the state of certificate workflows (all running ones, or those of --blueprint).',
  description: [
    'Queries the lifecycle workflows: state and why, stored certificate expiry, renewal time, per-server state',
    'and last error, next wake-up, and any step failing and being retried right now (with its last error).',
    "While a manual CA's certificate is awaited, the reason says where storage keeps the CSR to send to the CA",
    '(--json: pendingCsrLocation, and the CSR itself as pendingCsr).',
    'Without --blueprint, lists every running certificate workflow.',
    'A workflow no worker answers for within 10 s is shown as Unanswered, with the reason (no worker polls the',
    'task queue, or the workers are busy).',
    "With no Temporal server configured or answering, it reads the data dir's database on the embedded server,",
    'where the workflows (not their activities) run in this process to answer: nothing outside Temporal is touched.',
    'Exit 0 when all are Ready, 1 when any is not (or is missing), 2 when no Temporal server can be reached or started.',
  ].join('\n'),
  options: { json: { type: 'boolean', help: 'Print JSON.' }, ...CONNECTION_OPTIONS },
};

/** A step of the current cycle that failed at least once and that Temporal is retrying. */
export interface RetryingStep {
  /** What the step does, as a person would say it. */
  step: string;
  /** The activity type, for searching the Web UI or the history. */
  activity: string;
  /** Attempts that failed so far. */
  failedAttempts: number;
  /** Attempts allowed in all; 0 for no limit. */
  maximumAttempts: number;
  /** The last attempt's error message (the plugin's, no stack trace). */
  error: string;
  /** Its type, e.g. PluginIoError. */
  errorType?: string;
  /** When the next attempt starts (ISO); absent while an attempt is running. */
  nextAttemptAt?: string;
}

/** Activities of the lifecycle workflow (src/activities) and what each does. */
const STEPS: Record<string, string> = {
  inspect: 'inspect storage and servers',
  prepareRenewal: 'make key and CSR',
  issueCertificate: 'order the certificate from the CA',
  storeCertificate: 'store the certificate',
  deployToServer: 'deploy',
  track: 'write the tracking log',
  notify: 'notify',
};

/** The pending activities of a workflow that have failed at least once, oldest first. */
export function retryingSteps(pending: temporal.api.workflow.v1.IPendingActivityInfo[]): RetryingStep[] {
  return pending
    .filter((a) => (a.attempt ?? 1) > 1 && a.lastFailure)
    .sort((a, b) => (optionalTsToMs(a.scheduledTime) ?? 0) - (optionalTsToMs(b.scheduledTime) ?? 0))
    .map((a) => {
      const activity = a.activityType?.name ?? 'activity';
      const next = optionalTsToMs(a.nextAttemptScheduleTime);
      const type = a.lastFailure!.applicationFailureInfo?.type;
      return {
        step: STEPS[activity] ?? activity,
        activity,
        failedAttempts: (a.attempt ?? 1) - 1,
        maximumAttempts: a.maximumAttempts ?? 0,
        // One line: a message with line breaks would break the table layout of the text output.
        error: (a.lastFailure!.message ?? '').replace(/\s*\n\s*/g, '; ').trim() || 'failed without a message',
        ...(type && { errorType: type }),
        ...(next !== undefined && { nextAttemptAt: new Date(next).toISOString() }),
      };
    });
}

/** "deploy: attempt 2 of 3 failed, next in 4 s: <error>" */
export function describeRetry(r: RetryingStep, now: number): string {
  const of = r.maximumAttempts > 0 ? ` of ${r.maximumAttempts}` : '';
  const next = r.nextAttemptAt
    ? `next in ${Math.max(0, Math.ceil((Date.parse(r.nextAttemptAt) - now) / 1000))} s`
    : `attempt ${r.failedAttempts + 1} running`;
  return `${r.step}: attempt ${r.failedAttempts}${of} failed, ${next}: ${r.error}`;
}

async function runningIds(session: Session): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of session.client.workflow.list({ query: "WorkflowType = 'certificateLifecycle' AND ExecutionStatus = 'Running'" })) {
    ids.push(wf.workflowId);
  }
  return ids.sort();
}

interface Found {
  id: string;
  status: LifecycleStatus | null;
  /** Why a workflow that exists gave no status. */
  unanswered?: string;
  retrying: RetryingStep[];
}

/**
 * The workflow's task queue and the steps being retried (the workflow's status cannot know those: it hears of an
 * activity only when Temporal gives up on it); `null` when there is no such workflow.
 */
async function describe(session: Session, workflowId: string): Promise<{ taskQueue: string; retrying: RetryingStep[] } | null> {
  try {
    const { taskQueue, raw } = await session.client.workflow.getHandle(workflowId).describe();
    return { taskQueue, retrying: retryingSteps(raw.pendingActivities ?? []) };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}

export async function run(ctx: Context): Promise<number> {
  const blueprints = await loadFromOptions(ctx, false);
  const session = await openSession(ctx, { command: 'status', worker: 'queries' });
  try {
    const ids = blueprints.length ? blueprints.map((b) => workflowIdFor(b.name)) : await runningIds(session);
    // Each answer needs a worker; asked one by one, hundreds of certificates would take minutes.
    // Without a worker every query would wait out its timeout: say so at once instead (asked once per queue).
    const idleQueues = new Map<string, Promise<string | undefined>>();
    const idle = (queue: string) => idleQueues.get(queue) ?? idleQueues.set(queue, noWorker(session, queue)).get(queue)!;
    const found = await mapLimit(ids, 16, async (id): Promise<Found> => {
      const described = await describe(session, id);
      if (described === null) return { id, status: null, retrying: [] };
      const { taskQueue, retrying } = described;
      try {
        const why = await idle(taskQueue);
        if (why) throw new WorkflowUnanswered(why);
        return { id, status: await queryStatus(session, id), retrying };
      } catch (err) {
        if (err instanceof WorkflowUnanswered) return { id, status: null, unanswered: err.message, retrying };
        throw err;
      }
    });
    if (ctx.values.json) {
      const json = (f: Found) =>
        f.status
          ? { ...f.status, retrying: f.retrying }
          : f.unanswered
            ? { state: 'Unanswered', reason: f.unanswered, retrying: f.retrying }
            : { state: 'NotStarted' };
      ctx.io.out(
        JSON.stringify(
          found.map((f) => ({ workflowId: f.id, ...json(f) })),
          null,
          2,
        ),
      );
    } else {
      const rows = found.map(({ id, status: s, unanswered }) =>
        s
          ? [
              s.name,
              s.state,
              s.stored?.notAfter.slice(0, 16) ?? '-',
              `${s.servers.filter((x) => x.state === 'ok').length}/${s.servers.length}`,
              s.nextWakeAt?.slice(0, 16) ?? '-',
              s.reason,
            ]
          : unanswered
            ? [id, 'Unanswered', '-', '-', '-', unanswered]
            : [id, 'NotStarted', '-', '-', '-', "no workflow: run 'autossl renew' or 'autossl server'"],
      );
      ctx.io.out(table(['certificate', 'state', 'expires', 'servers ok', 'next wake', 'reason'], rows));
      for (const { id, status: s, retrying } of found) {
        for (const r of s ? [] : retrying) ctx.io.out(`  ${id} retrying ${describeRetry(r, Date.now())}`);
        if (!s) continue;
        for (const server of s.servers) {
          if (server.state === 'ok') continue;
          const detail = server.lastError ?? (server.reasons.join('; ') || 'not inspected yet');
          // Plugin errors start with the server's label, which the line names already.
          const said = detail.startsWith(`${server.label}: `) ? detail.slice(server.label.length + 2) : detail;
          ctx.io.out(`  ${s.name} ${server.label}: ${server.state} - ${said}`);
        }
        for (const r of retrying) ctx.io.out(`  ${s.name} retrying ${describeRetry(r, Date.now())}`);
      }
    }
    return found.every((f) => f.status?.state === 'Ready') ? EXIT.ok : EXIT.action;
  } finally {
    await session.close();
  }
}
