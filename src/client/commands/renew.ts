// `autossl renew`: run a lifecycle cycle now for each blueprint (renewing when due or forced) and report.
import { workflowIdFor, type CycleRequest } from '../../workflows/definitions';
import { CONNECTION_OPTIONS, EXIT, UsageError, type CommandSpec } from '../cli';
import { loadFromOptions, type Context } from '../context';
import { confirm } from '../prompt';
import { reportCycles, waitOptions, waitTimeoutMs } from '../follow';
import { connect, requestCycle, targetFrom } from '../temporal';

export const spec: CommandSpec = {
  name: 'renew',
  summary: 'Run a cycle now: renew when due (or forced), deploy where servers are out of date.',
  description: [
    "Starts each blueprint's lifecycle workflow, or wakes the running one, so it inspects storage and servers now,",
    'renews the certificate when it is due (always with --force) and deploys to every server that needs it.',
    'Waits and prints the outcome unless --no-wait. Asks "Continue ? (y/n)" first unless --yes or --force.',
    'Exit 0 when every certificate ended up to date, 1 when a renewal or a server failed, a manual CA',
    'certificate is awaited (see autossl submit) or --timeout passed first (the request stays queued), 2 on bad',
    'input or when no Temporal server answers.',
  ].join('\n'),
  options: {
    force: { type: 'boolean', help: 'Renew even if the stored certificate is still good (implies --yes).' },
    yes: { type: 'boolean', short: 'y', help: 'Do not ask for confirmation.' },
    ...waitOptions,
    ...CONNECTION_OPTIONS,
  },
};

export async function run(ctx: Context): Promise<number> {
  const blueprints = await loadFromOptions(ctx);
  const force = ctx.values.force === true;
  if (!force && ctx.values.yes !== true) {
    if (!process.stdin.isTTY) throw new UsageError('not a terminal: pass --yes (or --force) to renew without confirmation');
    const names = blueprints.map((b) => b.name).join(', ');
    if (!(await confirm(`Run a renewal cycle for ${names}. Continue ?`))) return EXIT.action;
  }
  return followRequests(ctx, blueprints, { force });
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
  waitTimeoutMs(ctx);
  const session = await connect(targetFrom(ctx.values));
  try {
    await prepare?.();
    const requests = [];
    for (const blueprint of blueprints) {
      requests.push({ workflowId: workflowIdFor(blueprint.name), requestId: await requestCycle(session, blueprint, request) });
    }
    return await reportCycles(ctx, session, requests);
  } finally {
    await session.close();
  }
}
