// What the lifecycle tells the outside world: the LocalFileTracking JSON-lines log that AutoSSL users consume, and
// notifications (webhook, command). Both run on the worker; nothing here may carry a private key or a secret
// back into workflow history, so errors name the webhook as written, never with its `${VAR}`s expanded.
import { spawn } from 'node:child_process';
import type { Blueprint, NotifySpec } from '../blueprint/types';
import { ClassifiedError } from '../errors';
import { expandVariables } from '../blueprint/variables';
import { openTracking, using, type PluginEnvironment } from '../catalog/open';
import type { TrackingEntry } from '../plugins/types';
import type { NotifyEvent, TrackEvent } from '../workflows/definitions';

const WEBHOOK_TIMEOUT_MS = 10_000;
const COMMAND_TIMEOUT_MS = 30_000;

/** A notification channel did not take the event; retried a few times by the workflow, then only logged. */
export class NotificationFailed extends ClassifiedError {
  override readonly name = 'NotificationFailed';
}

/** Records the event with the blueprint's tracking plugin, with the CSR and certificate when `data:` lists them. */
export async function writeTrackingLine(blueprint: Blueprint, event: TrackEvent, workflowId: string, env: PluginEnvironment): Promise<void> {
  if (!blueprint.tracking) return;
  const data = blueprint.tracking.data;
  const entry: TrackingEntry = {
    time: event.at,
    workflow_id: workflowId,
    certificate: blueprint.name,
    step: event.step,
    message: event.message,
    ...(event.csr && data.includes('csr') && { csr: event.csr }),
    ...(event.certificate && data.includes('crt') && { certificate_pem: event.certificate }),
  };
  // Keys never reach this activity; this guards the record against a future caller that gets that wrong.
  if (JSON.stringify(entry).includes('PRIVATE KEY')) throw new Error(`refusing to write key material to the tracking log of '${blueprint.name}'`);
  await using((await openTracking(blueprint, env))!, (t) => t.record(entry));
}

/** Sends the event to every channel of the blueprint's `notify` section that wants it. */
export async function sendNotification(
  blueprint: Blueprint,
  event: NotifyEvent,
  workflowId: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const spec = blueprint.notify;
  if (!spec?.events.includes(event.event)) return;
  const body = JSON.stringify({
    certificate: blueprint.name,
    event: event.event,
    state: event.state,
    reason: event.reason,
    ...(event.serial && { serial: event.serial }),
    ...(event.notAfter && { notAfter: event.notAfter }),
    ...(event.csrLocation && { csrLocation: event.csrLocation }),
    servers: event.servers,
    ...(event.failed && { failed: event.failed }),
    workflowId,
    at: event.at,
  });
  const failures: string[] = [];
  if (spec.webhook) await postWebhook(spec.webhook, body, env).catch((err: Error) => failures.push(err.message));
  if (spec.command) await runCommand(spec.command, body, event.event, env).catch((err: Error) => failures.push(err.message));
  if (failures.length) throw new NotificationFailed(`notifying '${blueprint.name}' ${event.event} failed: ${failures.join('; ')}`);
}

/** `$VAR`s from the worker's environment: tokens live there, not in the blueprint the workflow carries. */
function expand(text: string, env: NodeJS.ProcessEnv, where: string): string {
  return expandVariables(
    text,
    (name) => env[name],
    (reference, name) => {
      throw new NotificationFailed(`${where} uses ${reference} but ${name} is not set on the worker`);
    },
  );
}

async function postWebhook(webhook: NonNullable<NotifySpec['webhook']>, body: string, env: NodeJS.ProcessEnv): Promise<void> {
  const shown = `webhook ${webhook.url}`;
  const url = expand(webhook.url, env, shown);
  const headers = Object.fromEntries(Object.entries(webhook.headers).map(([k, v]) => [k, expand(v, env, `${shown} header ${k}`)]));
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'autossl', ...headers },
      body,
      signal: AbortSignal.timeout(WEBHOOK_TIMEOUT_MS),
    });
  } catch (err) {
    const cause = (err as Error & { cause?: { code?: string; message?: string } }).cause;
    throw new NotificationFailed(`${shown}: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  }
  // The body is drained so the connection is released; its text may echo secrets, so it is not reported.
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new NotificationFailed(`${shown}: HTTP ${response.status}`);
}

function runCommand(argv: string[], body: string, event: string, env: NodeJS.ProcessEnv): Promise<void> {
  const shown = `command ${argv[0]}`;
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), {
      env: { ...env, AUTOSSL_EVENT: event },
      // Its output may echo whatever it was given (tokens included): it goes nowhere, history least of all.
      stdio: ['pipe', 'ignore', 'ignore'],
      timeout: COMMAND_TIMEOUT_MS,
    });
    // A command that ignores stdin closes it early; that is its right, not a failure.
    child.stdin!.on('error', () => {});
    child.stdin!.end(body);
    child.once('error', (err) => reject(new NotificationFailed(`${shown}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new NotificationFailed(`${shown} exited with ${code ?? signal}`));
    });
  });
}
