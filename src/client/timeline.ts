// Turns a certificate workflow's event history (all runs) into the timeline `autossl history` prints: the
// tracking record AutoSSL kept by hand, read from what Temporal recorded anyway.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';

export interface TimelineEntry {
  at: string;
  runId: string;
  kind: 'state' | 'activity' | 'failure' | 'signal' | 'update' | 'wait' | 'run';
  text: string;
}

const decode = (p: Payload | null | undefined): unknown => {
  if (!p) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(p);
  } catch {
    return undefined;
  }
};

const timeOf = (e: temporal.api.history.v1.IHistoryEvent): string => {
  const t = e.eventTime;
  return t ? new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : '';
};

function failureText(f: temporal.api.failure.v1.IFailure | null | undefined): string {
  let message = f?.message ?? 'failed';
  // An activity failure wraps the real reason; show the innermost one.
  for (let c = f?.cause; c; c = c.cause) message = c.message ?? message;
  return message;
}

/** What a completed activity's result says, in words (certificates and CSRs are public; keys never get here). */
function resultText(type: string, result: unknown): string {
  const r = result as Record<string, unknown> | undefined;
  if (type === 'storeCertificate' && r) return `certificate ${r.serial} stored, valid until ${r.notAfter}, for ${(r.domains as string[]).join(', ')}`;
  if (type === 'prepareRenewal') return 'new private key stored, CSR made';
  if (type === 'issueCertificate') return 'certificate issued by the CA';
  if (type === 'inspect' && r) {
    const stored = r.stored as { serial: string; notAfter: string } | null;
    const servers = (r.servers as { label: string; certificate: unknown; error?: string }[]) ?? [];
    const bad = servers.filter((s) => s.error || !s.certificate).map((s) => s.label);
    return `stored ${stored ? `${stored.serial} until ${stored.notAfter}` : 'none'}; ${servers.length - bad.length}/${servers.length} server(s) hold a certificate${bad.length ? ` (not: ${bad.join(', ')})` : ''}`;
  }
  return 'done';
}

export async function timeline(client: Client, workflowId: string): Promise<TimelineEntry[]> {
  const runs: { runId: string; start: number }[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowId = '${workflowId.replace(/'/g, "\\'")}'` })) {
    runs.push({ runId: wf.runId, start: wf.startTime.getTime() });
  }
  runs.sort((a, b) => a.start - b.start);
  const entries: TimelineEntry[] = [];
  for (const { runId } of runs) {
    const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const scheduled = new Map<string, { type: string; summary: string }>();
    for (const e of history.events ?? []) {
      const at = timeOf(e);
      const add = (kind: TimelineEntry['kind'], text: string) => entries.push({ at, runId, kind, text });
      const summary = (decode(e.userMetadata?.summary as Payload) as string | undefined) ?? '';
      if (e.workflowExecutionStartedEventAttributes) add('run', `run ${runId} started`);
      else if (e.activityTaskScheduledEventAttributes) {
        const type = e.activityTaskScheduledEventAttributes.activityType?.name ?? 'activity';
        scheduled.set(String(e.eventId), { type, summary: summary || type });
      } else if (e.activityTaskCompletedEventAttributes) {
        const a = scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId));
        const result = decode(e.activityTaskCompletedEventAttributes.result?.payloads?.[0] as Payload);
        if (a) add('activity', `${a.summary}: ${resultText(a.type, result)}`);
      } else if (e.activityTaskFailedEventAttributes) {
        const a = scheduled.get(String(e.activityTaskFailedEventAttributes.scheduledEventId));
        add('failure', `FAILED ${a?.summary ?? 'activity'}: ${failureText(e.activityTaskFailedEventAttributes.failure)}`);
      } else if (e.activityTaskTimedOutEventAttributes) {
        const a = scheduled.get(String(e.activityTaskTimedOutEventAttributes.scheduledEventId));
        add('failure', `TIMED OUT ${a?.summary ?? 'activity'}`);
      } else if (e.workflowExecutionSignaledEventAttributes) {
        const s = e.workflowExecutionSignaledEventAttributes;
        const arg = decode(s.input?.payloads?.[0] as Payload) as { force?: boolean; allServers?: boolean } | undefined;
        const flags = [arg?.force && 'force', arg?.allServers && 'all servers'].filter(Boolean).join(', ');
        add('signal', `${s.signalName} requested${flags ? ` (${flags})` : ''}`);
      } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
        add('update', `${e.workflowExecutionUpdateAcceptedEventAttributes.acceptedRequest?.input?.name ?? 'update'} received`);
      } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
        const o = e.workflowExecutionUpdateCompletedEventAttributes.outcome;
        add('update', o?.failure ? `delivered certificate refused: ${failureText(o.failure)}` : 'delivered certificate accepted');
      } else if (e.timerStartedEventAttributes && summary) add('wait', summary);
      else if (e.upsertWorkflowSearchAttributesEventAttributes) {
        const state = decode(e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields?.AutosslState as Payload);
        if (typeof state === 'string' && entries.at(-1)?.text !== `state ${state}`) add('state', `state ${state}`);
      } else if (e.workflowExecutionContinuedAsNewEventAttributes) add('run', 'cycle closed, continued as new run');
    }
  }
  return entries;
}
