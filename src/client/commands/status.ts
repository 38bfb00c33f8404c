// `autossl status`: what each lifecycle workflow is doing, from the workflows themselves.
import { workflowIdFor, type LifecycleStatus } from '../../workflows/definitions';
import { CONNECTION_OPTIONS, EXIT, type CommandSpec } from '../cli';
import { loadFromOptions, type Context } from '../context';
import { table } from '../format';
import { connect, queryStatus, targetFrom, type Session } from '../temporal';

export const spec: CommandSpec = {
  name: 'status',
  summary: 'Show the state of certificate workflows (all running ones, or those of --blueprint).',
  description: [
    'Queries the lifecycle workflows: state and why, stored certificate expiry, renewal time, per-server state',
    'and last error, next wake-up. Without --blueprint, lists every running certificate workflow.',
    'Exit 0 when all are Ready, 1 when any is not (or is missing), 2 when no Temporal server answers.',
  ].join('\n'),
  options: { json: { type: 'boolean', help: 'Print JSON.' }, ...CONNECTION_OPTIONS },
};

async function runningIds(session: Session): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of session.client.workflow.list({ query: "WorkflowType = 'certificateLifecycle' AND ExecutionStatus = 'Running'" })) {
    ids.push(wf.workflowId);
  }
  return ids.sort();
}

export async function run(ctx: Context): Promise<number> {
  const blueprints = await loadFromOptions(ctx, false);
  const session = await connect(targetFrom(ctx.values));
  try {
    const ids = blueprints.length ? blueprints.map((b) => workflowIdFor(b.name)) : await runningIds(session);
    const found: { id: string; status: LifecycleStatus | null }[] = [];
    for (const id of ids) found.push({ id, status: await queryStatus(session, id) });
    if (ctx.values.json) {
      ctx.io.out(JSON.stringify(found.map((f) => ({ workflowId: f.id, ...(f.status ?? { state: 'NotStarted' }) })), null, 2));
    } else {
      const rows = found.map(({ id, status: s }) =>
        s
          ? [s.name, s.state, s.stored?.notAfter.slice(0, 16) ?? '-', `${s.servers.filter((x) => x.state === 'ok').length}/${s.servers.length}`, s.nextWakeAt?.slice(0, 16) ?? '-', s.reason]
          : [id, 'NotStarted', '-', '-', '-', "no workflow: run 'autossl renew' or 'autossl server'"],
      );
      ctx.io.out(table(['certificate', 'state', 'expires', 'servers ok', 'next wake', 'reason'], rows));
      for (const { status: s } of found) {
        for (const server of s?.servers ?? []) {
          if (server.state !== 'ok') ctx.io.out(`  ${s!.name} ${server.label}: ${server.state} - ${server.lastError ?? server.reasons.join('; ')}`);
        }
      }
    }
    return found.every((f) => f.status?.state === 'Ready') ? EXIT.ok : EXIT.action;
  } finally {
    await session.close();
  }
}
