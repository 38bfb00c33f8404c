// `autossl history`: the tracking record (the workflow's history across runs) as a timeline a person can read.
import { CONNECTION_OPTIONS, EXIT, UsageError, type CommandSpec } from '../cli';
import { loadFromOptions, str, type Context } from '../context';
import { workflowIdFor } from '../../workflows/definitions';
import { openSession } from '../temporal';
import { timeline } from '../timeline';

export const spec: CommandSpec = {
  name: 'history',
  summary: 'Print the tracking record of a certificate: what was done, when, and what failed.',
  description: [
    'Reads the workflow history of the certificate (every run, oldest first) and prints a timeline: cycles,',
    'inspections, renewals, CSRs, certificates received, deploys per server, failures with reasons, signals.',
    'Give --blueprint (one certificate) or --tracking-record ID. With no Temporal server configured or answering,',
    "it reads the data dir's own database (<data-dir>/temporal.sqlite) on the embedded server, as renew does.",
  ].join('\n'),
  options: {
    'tracking-record': { type: 'string', short: 't', value: 'ID', help: 'Workflow id (cert:<name>).' },
    json: { type: 'boolean', help: 'Print JSON.' },
    ...CONNECTION_OPTIONS,
  },
};

export async function run(ctx: Context): Promise<number> {
  let workflowId = str(ctx.values['tracking-record']);
  if (!workflowId) {
    const blueprints = await loadFromOptions(ctx);
    if (blueprints.length !== 1) throw new UsageError(`--blueprint must name exactly one certificate (got ${blueprints.length})`);
    workflowId = workflowIdFor(blueprints[0].name);
  }
  const session = await openSession(ctx, { command: 'history', worker: 'none' });
  try {
    const entries = await timeline(session.client, workflowId);
    if (!entries.length) throw new UsageError(`no tracking record ${workflowId}`);
    if (ctx.values.json) ctx.io.out(JSON.stringify({ workflowId, entries }, null, 2));
    else for (const e of entries) ctx.io.out(`${e.at}  ${e.text}`);
    return EXIT.ok;
  } finally {
    await session.close();
  }
}
