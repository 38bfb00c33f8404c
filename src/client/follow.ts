// Following requested cycles to their end and saying how they went.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { CycleReport, LifecycleInput, LifecycleStatus } from '../workflows/definitions';
import { EXIT, UsageError, type OptionSpec } from './cli';
import { str, type Context } from './context';
import { CycleTimeout, waitForCycle, type CycleOutcome, type Session } from './temporal';

export const waitOptions: Record<string, OptionSpec> = {
  'no-wait': { type: 'boolean', help: 'Return once the request is accepted; follow it with autossl status.' },
  timeout: { type: 'string', value: 'SECONDS', help: 'Give up waiting after this long (default 600).' },
};

export const checkIntervalOption: Record<string, OptionSpec> = {
  'check-interval': { type: 'string', value: 'MINUTES', help: 'How often servers are re-inspected for drift (default 60).' },
};

/** Lifecycle settings from --check-interval. */
export function checkSettings(ctx: Context): { checkIntervalMs?: number } {
  const value = str(ctx.values['check-interval']);
  if (value === undefined) return {};
  const minutes = Number(value);
  if (!(minutes > 0)) throw new UsageError(`--check-interval must be a positive number of minutes, got '${value}'`);
  return { checkIntervalMs: minutes * 60_000 };
}

/** --timeout in ms; checked before any request is sent, so a typo cannot leave a request unfollowed. */
export function waitTimeoutMs(ctx: Context): number {
  const value = str(ctx.values.timeout);
  if (value === undefined) return 600_000;
  const seconds = Number(value);
  if (!(seconds > 0)) throw new UsageError(`--timeout must be a positive number of seconds, got '${value}'`);
  return seconds * 1000;
}

/**
 * The status a workflow closed cycle `number` with, from the run that ended with it: one of the runs closed since
 * `since` (a cycle is a run; the next run starts with it).
 */
async function closedWith(session: Session, workflowId: string, number: number, since: number): Promise<LifecycleStatus | undefined> {
  const query = `WorkflowId = '${workflowId.replace(/'/g, "\\'")}' AND CloseTime >= '${new Date(since).toISOString()}'`;
  for await (const run of session.client.workflow.list({ query })) {
    for (const e of (await session.client.workflow.getHandle(workflowId, run.runId).fetchHistory()).events ?? []) {
      const next = e.workflowExecutionContinuedAsNewEventAttributes?.input?.payloads?.[0];
      const status = next ? (defaultPayloadConverter.fromPayload(next as Payload) as LifecycleInput).status : undefined;
      if (status?.lastCycle?.number === number) return status;
    }
  }
  return undefined;
}

/** A finished cycle's outcome, its error and its failed servers; false when it did not end ok. */
function printCycle(ctx: Context, status: LifecycleStatus, cycle: CycleReport, label: string, suffix = ''): boolean {
  const renewed = cycle.renewed ? `renewed (${status.stored?.serial}, valid until ${status.stored?.notAfter})` : 'not renewed';
  ctx.io.out(`${status.name}: ${label}${cycle.outcome} - ${renewed}; deployed to ${cycle.deployed.length} server(s)${suffix}`);
  if (cycle.error) ctx.io.out(`  error: ${cycle.error}`);
  for (const f of cycle.failed) ctx.io.out(`  FAILED ${f.label}: ${f.error}`);
  return cycle.outcome === 'ok';
}

/** Follows the requested cycles to their end (until `deadline`, default --timeout from now) and reports each; the exit code. */
export async function reportCycles(
  ctx: Context,
  session: Session,
  requests: { workflowId: string; requestId: string | number }[],
  deadline = Date.now() + waitTimeoutMs(ctx),
): Promise<number> {
  if (ctx.values['no-wait']) {
    for (const r of requests) ctx.io.out(`${r.workflowId}: requested (tracking record ${r.workflowId})`);
    return EXIT.ok;
  }
  // One deadline for all: the cycles run at the same time, so following them one after another costs nothing.
  let code: number = EXIT.ok;
  // Early enough for any clock difference with the server: runs closed before are filtered out by cycle number.
  const since = Date.now() - 10 * 60_000;
  for (const r of requests) {
    let outcome: CycleOutcome;
    try {
      outcome = await waitForCycle(session, r.workflowId, r.requestId, ctx.io, Math.max(0, deadline - Date.now()));
    } catch (err) {
      if (!(err instanceof CycleTimeout)) throw err;
      ctx.io.out(err.message);
      code = EXIT.action;
      continue;
    }
    const { status, finished } = outcome;
    const cycle = status.lastCycle!;
    if (!finished) {
      const where = status.pendingCsrLocation ? ` (stored at ${status.pendingCsrLocation})` : '';
      ctx.io.out(
        `${status.name}: awaiting certificate - send the CSR below${where} to the CA, then: autossl --blueprint <file> deploy -c <certificate file>`,
      );
      ctx.io.out(status.pendingCsr ?? '');
      code = EXIT.action;
      continue;
    }
    // A cron run that finished what a stopped run left says so, not only that its own cycle had nothing to do.
    const before = outcome.earlier === undefined ? undefined : await closedWith(session, r.workflowId, outcome.earlier, since);
    if (before?.lastCycle) printCycle(ctx, before, before.lastCycle, `cycle ${before.lastCycle.number} (under way before this request): `);
    if (!printCycle(ctx, status, cycle, '', ` [tracking record ${r.workflowId}]`)) code = EXIT.action;
  }
  await session.settle?.(
    requests.map((r) => r.workflowId),
    deadline,
  );
  return code;
}
