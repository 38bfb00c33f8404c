// `autossl renew`: run a lifecycle cycle now for each blueprint (renewing when due or forced) and report.
import type { BlueprintReport } from '../../inspect/report';
import { workflowIdFor, type CycleRequest } from '../../workflows/definitions';
import { CONNECTION_OPTIONS, EXIT, UsageError, type CommandSpec } from '../cli';
import { loadFromOptions, pluginEnvironment, type Context } from '../context';
import { askEach } from '../prompt';
import { reportCycles, waitOptions, waitTimeoutMs } from '../follow';
import { openSession, requestCycle } from '../temporal';

export const spec: CommandSpec = {
  name: 'renew',
  summary: 'Run a cycle now: renew when due (or forced), deploy where servers are out of date.',
  description: [
    "Starts each blueprint's lifecycle workflow, or wakes the running one, so it inspects storage and servers now,",
    'renews the certificate when it is due (always with --force) and deploys to every server that needs it.',
    'Waits and prints the outcome unless --no-wait. As AutoSSL does, it first checks each certificate and, for',
    'each one with something to do, says what and asks "Continue ? (y/n)" (the answer is read from standard input,',
    'so `echo y | autossl renew` works); a certificate with nothing to do is not asked about. No question with',
    '--yes or --force. With no Temporal server configured (--address, $TEMPORAL_ADDRESS) or answering at',
    '127.0.0.1:7233, it runs on the embedded one over <data-dir>/temporal.sqlite with a worker in this process,',
    'until its cycles are done (cron-style; one run at a time per data dir, a second one waits).',
    'Exit 0 when every certificate ended up to date, 1 when a renewal or a server failed, a renewal was declined,',
    'a manual CA certificate is awaited (see autossl submit) or --timeout passed first (the request stays queued),',
    '2 on bad input (no answer to the question included) or when no Temporal server can be reached or started.',
  ].join('\n'),
  options: {
    force: { type: 'boolean', help: 'Renew even if the stored certificate is still good (implies --yes).' },
    yes: { type: 'boolean', short: 'y', help: 'Do not ask for confirmation.' },
    ...waitOptions,
    ...CONNECTION_OPTIONS,
  },
};

/** What a certificate's check says is to be done, as the question before "Continue ? (y/n)" says it. */
function toDo(r: BlueprintReport): string {
  if (r.verdict === 'error') return `cannot be checked (${r.error})`;
  if (r.verdict === 'renewal-needed') return `renewal needed: ${r.renewReasons.join('; ')}`;
  return `servers out of date: ${r.servers
    .filter((s) => !s.upToDate)
    .map((s) => `${s.label} (${s.reasons.join('; ')})`)
    .join(', ')}`;
}

/**
 * AutoSSL's confirmation, asked only for the certificates with something to do; every answer is read before
 * anything is requested, so a missing one changes nothing. The blueprints to run a cycle for, and those declined.
 */
async function confirmed(ctx: Context, blueprints: Awaited<ReturnType<typeof loadFromOptions>>) {
  const { checkBlueprints } = await import('../../inspect/report');
  const reports = await checkBlueprints(pluginEnvironment(ctx, true), blueprints, new Date());
  const due = reports.filter((r) => r.verdict !== 'up-to-date');
  for (const r of reports) if (r.verdict === 'up-to-date') ctx.io.err(`${r.name}: certificate and all servers up to date`);
  const answers = await askEach(due.map((r) => `${r.name}: ${toDo(r)}. Continue ? (y/n) `));
  if (answers.includes(null)) {
    throw new UsageError('no answer to "Continue ? (y/n)" (end of input): nothing requested; answer y or n, or pass --yes');
  }
  const declined = new Set(due.filter((_, i) => !/^y(es)?$/i.test(answers[i]!.trim())).map((r) => r.name));
  return { chosen: blueprints.filter((b) => !declined.has(b.name)), declined: [...declined] };
}

export async function run(ctx: Context): Promise<number> {
  const blueprints = await loadFromOptions(ctx);
  const force = ctx.values.force === true;
  waitTimeoutMs(ctx);
  const { chosen, declined } = force || ctx.values.yes === true ? { chosen: blueprints, declined: [] } : await confirmed(ctx, blueprints);
  for (const name of declined) ctx.io.out(`${name}: skipped, not confirmed`);
  const code = chosen.length ? await followRequests(ctx, chosen, { force }) : EXIT.ok;
  return declined.length ? Math.max(code, EXIT.action) : code;
}

/**
 * Sends the same request to each blueprint's workflow and follows them (shared with deploy). `prepare` runs once
 * a Temporal server answered, before the first request: what it changes is not left behind by a failed connect.
 */
export async function followRequests(
  ctx: Context,
  blueprints: Awaited<ReturnType<typeof loadFromOptions>>,
  request: Omit<CycleRequest, 'id'>,
  prepare?: () => Promise<void>,
): Promise<number> {
  // Waiting for the data dir and following the cycles share one deadline.
  const deadline = Date.now() + waitTimeoutMs(ctx);
  const session = await openSession(ctx, {
    // Only deploy's requests say which servers.
    command: 'allServers' in request ? 'deploy' : 'renew',
    worker: 'full',
    lockWaitMs: deadline - Date.now(),
    ...(ctx.values['no-wait'] && {
      embeddedRefusal:
        '--no-wait needs a Temporal server that keeps running (autossl server, or --address): with none, this run is what carries the request out',
    }),
  });
  try {
    await prepare?.();
    const requests = [];
    for (const blueprint of blueprints) {
      requests.push({ workflowId: workflowIdFor(blueprint.name), requestId: await requestCycle(session, blueprint, request) });
    }
    return await reportCycles(ctx, session, requests, deadline);
  } finally {
    await session.close();
  }
}
