// `autossl submit`: a person delivers the certificate a manual CA issued.
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { submitUpdate, workflowIdFor } from '../../workflows/definitions';
import { CONNECTION_OPTIONS, EXIT, UsageError, type CommandSpec } from '../cli';
import { loadFromOptions, str, type Context } from '../context';
import { readInputFile } from '../input';
import { reportCycles, waitTimeoutMs } from '../follow';
import { openSession, queryStatus } from '../temporal';

export const spec: CommandSpec = {
  name: 'submit',
  summary: 'Deliver a certificate issued by a manual CA to the workflow awaiting it.',
  description: [
    'Sends the certificate (PEM; the leaf first, then any chain) to the workflow in state AwaitingCertificate.',
    'The workflow checks it (matches the new private key, covers the blueprint, verifies against the chain of',
    'trust, not expired) and then stores and deploys it; a refusal says exactly why and the workflow keeps waiting.',
    'With no Temporal server configured or answering, it runs on the embedded one over the data dir (as renew',
    'does) and waits until the certificate is deployed.',
    'Exit 0 when accepted (and, on the embedded server, deployed), 1 when refused (or a deploy failed), 2 on bad',
    'input or when no Temporal server can be reached or started.',
  ].join('\n'),
  options: {
    certificate: { type: 'string', short: 'c', value: 'FILE', help: 'The issued certificate (PEM).' },
    'workflow-id': { type: 'string', value: 'ID', help: 'Workflow to deliver to (default cert:<blueprint name>).' },
    ...CONNECTION_OPTIONS,
  },
};

export async function deliver(ctx: Context, workflowId: string, file: string): Promise<number> {
  const certificate = await readInputFile(file, '--certificate');
  const deadline = Date.now() + waitTimeoutMs(ctx);
  const session = await openSession(ctx, {
    command: 'submit',
    worker: 'full',
    lockWaitMs: deadline - Date.now(),
    ...(ctx.values['no-wait'] && { embeddedRefusal: '--no-wait needs a Temporal server that keeps running (autossl server, or --address)' }),
  });
  try {
    const awaiting = await queryStatus(session, workflowId);
    if (!awaiting) throw new UsageError(`no workflow ${workflowId}`);
    const result = await session.client.workflow.getHandle(workflowId).executeUpdate(submitUpdate, { args: [{ certificate }] });
    ctx.io.out(`${workflowId}: accepted certificate ${result.serial}, valid until ${result.notAfter}; deploying`);
    // The worker in this process ends with it: stay until the certificate is deployed, or nothing deploys it.
    if (session.settle && awaiting.lastCycle)
      return await reportCycles(ctx, session, [{ workflowId, requestId: awaiting.lastCycle.number }], deadline);
    return EXIT.ok;
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      ctx.io.err(`autossl: ${workflowId} refused the certificate: ${err.cause?.message ?? err.message}`);
      return EXIT.action;
    }
    throw err;
  } finally {
    await session.close();
  }
}

export async function run(ctx: Context): Promise<number> {
  const file = str(ctx.values.certificate);
  if (!file) throw new UsageError('--certificate FILE is required');
  let workflowId = str(ctx.values['workflow-id']);
  if (!workflowId) {
    const blueprints = await loadFromOptions(ctx);
    if (blueprints.length !== 1)
      throw new UsageError(`--blueprint must name exactly one certificate (got ${blueprints.length}); or give --workflow-id`);
    workflowId = workflowIdFor(blueprints[0].name);
  }
  return deliver(ctx, workflowId, file);
}
