// Turns a certificate workflow's event history (all runs) into the timeline `autossl history` prints: the
// tracking record AutoSSL kept by hand, read from what Temporal recorded anyway. Each run is one cycle; what a
// step meant comes from the activity's summary (set by the workflow), its arguments and its result.
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import type { Client } from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import type { Inspection } from '../inspect/facts';
import { serverFailure, type CycleReport, type LifecycleInput } from '../workflows/definitions';
import { parseCertificate } from '../x509';

export interface TimelineEntry {
  at: string;
  runId: string;
  kind: 'request' | 'wait' | 'inspect' | 'renewal' | 'certificate' | 'deploy' | 'notify' | 'failure' | 'state' | 'cycle' | 'closed';
  text: string;
  /** Server id, for deploys and deploy failures. */
  server?: string;
  serial?: string;
  notAfter?: string;
  error?: string;
  /** Where storage keeps the CSR of a renewal (absent in records made before it was stored there). */
  csrLocation?: string;
}

type HistoryEvent = temporal.api.history.v1.IHistoryEvent;
type Entry = Omit<TimelineEntry, 'at' | 'runId'>;

const decode = (p: Payload | null | undefined): unknown => {
  if (!p) return undefined;
  try {
    return defaultPayloadConverter.fromPayload(p);
  } catch {
    return undefined;
  }
};

const timeOf = (e: HistoryEvent): string => {
  const t = e.eventTime;
  return t ? new Date(Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6)).toISOString() : '';
};

/** The failure's own message, as the workflow reported it; its causes are the plugin's raw details. */
const failureText = (f: temporal.api.failure.v1.IFailure | null | undefined): string => f?.message || 'failed';

interface Scheduled {
  type: string;
  summary: string;
  args: unknown[];
}

/** What a completed activity did, in words (certificates and CSRs are public; keys never get here). */
function completed(a: Scheduled, result: unknown): Entry | null {
  switch (a.type) {
    case 'inspect': {
      const r = result as Inspection | undefined;
      if (!r) return null;
      const bad = r.servers.filter((s) => s.error || !s.certificate).map((s) => s.label);
      const stored = r.stored
        ? `stored ${r.stored.serial} valid until ${r.stored.notAfter}`
        : `nothing stored${r.storedError ? ` (${r.storedError})` : ''}`;
      const held = `${r.servers.length - bad.length}/${r.servers.length} server(s) hold a certificate${bad.length ? ` (not: ${bad.join(', ')})` : ''}`;
      return { kind: 'inspect', text: `${a.summary}: ${stored}; ${held}` };
    }
    case 'prepareRenewal': {
      const csrLocation = (result as { csrLocation?: string } | undefined)?.csrLocation;
      return csrLocation
        ? { kind: 'renewal', text: `${a.summary}: new private key stored, CSR made, stored as ${csrLocation}`, csrLocation }
        : { kind: 'renewal', text: `${a.summary}: new private key stored, CSR made` };
    }
    case 'issueCertificate': {
      const r = result as { certificate?: string; notices?: string[] } | undefined;
      const info = r?.certificate ? parseCertificate(r.certificate) : undefined;
      const noted = r?.notices?.length ? `; ${r.notices.join('; ')}` : '';
      return info
        ? {
            kind: 'certificate',
            text: `${a.summary}: certificate ${info.serial} received, valid until ${info.notAfter}${noted}`,
            serial: info.serial,
            notAfter: info.notAfter,
          }
        : { kind: 'certificate', text: `${a.summary}: certificate received${noted}` };
    }
    case 'storeCertificate': {
      const r = result as { serial: string; notAfter: string; domains: string[] };
      return {
        kind: 'certificate',
        text: `${a.summary}: certificate ${r.serial} stored, valid until ${r.notAfter}, for ${r.domains.join(', ')}`,
        serial: r.serial,
        notAfter: r.notAfter,
      };
    }
    case 'deployToServer': {
      const [, server, serial] = a.args as [unknown, string, string];
      return { kind: 'deploy', text: `certificate ${serial} deployed to ${server}`, server, serial };
    }
    case 'notify':
      return { kind: 'notify', text: `${a.summary}: sent` };
    // Tracking-log lines repeat what this timeline says.
    case 'track':
      return null;
    default:
      return { kind: 'cycle', text: `${a.summary}: done` };
  }
}

function failed(a: Scheduled | undefined, error: string): Entry {
  if (a?.type === 'deployToServer') {
    const [, server, serial] = a.args as [unknown, string, string];
    return { kind: 'failure', text: `FAILED deploy of ${serial} to ${server}: ${error}`, server, serial, error };
  }
  return { kind: 'failure', text: `FAILED ${a?.summary ?? 'activity'}: ${error}`, error };
}

/** The closing line of a run: the cycle report it handed to the next run. */
function cycleClosed(input: LifecycleInput | undefined): Entry {
  const cycle: CycleReport | null | undefined = input?.status?.lastCycle;
  if (!cycle?.finishedAt) return { kind: 'cycle', text: 'run closed, continued as new' };
  const stored = input?.status?.stored;
  const parts = [
    cycle.renewed ? `renewed (${stored?.serial}, valid until ${stored?.notAfter})` : 'not renewed',
    cycle.deployed.length ? `deployed to ${cycle.deployed.join(', ')}` : 'nothing deployed',
    ...cycle.failed.map((f) => `FAILED ${serverFailure(f)}`),
    ...(cycle.error ? [`error: ${cycle.error}`] : []),
  ];
  return { kind: 'cycle', text: `cycle ${cycle.number} closed: ${cycle.outcome} - ${parts.join('; ')}` };
}

function requestText(s: temporal.api.history.v1.IWorkflowExecutionSignaledEventAttributes): string {
  if (s.signalName === 'blueprint') return 'blueprint updated';
  const arg = decode(s.input?.payloads?.[0] as Payload) as { force?: boolean; allServers?: boolean } | undefined;
  const flags = [arg?.force && 'forced', arg?.allServers && 'all servers'].filter(Boolean).join(', ');
  return `${s.signalName === 'renew' ? 'cycle requested' : `${s.signalName} received`}${flags ? ` (${flags})` : ''}`;
}

/** The readable entries of one run's events. */
function runEntries(events: HistoryEvent[]): (Entry & { at: string })[] {
  const entries: (Entry & { at: string })[] = [];
  const scheduled = new Map<string, Scheduled>();
  let state = '';
  for (const e of events) {
    const at = timeOf(e);
    const add = (entry: Entry | null) => entry && entries.push({ at, ...entry });
    const summary = (decode(e.userMetadata?.summary as Payload) as string | undefined) ?? '';
    if (e.activityTaskScheduledEventAttributes) {
      const s = e.activityTaskScheduledEventAttributes;
      const type = s.activityType?.name ?? 'activity';
      scheduled.set(String(e.eventId), { type, summary: summary || type, args: (s.input?.payloads ?? []).map((p) => decode(p as Payload)) });
    } else if (e.activityTaskCompletedEventAttributes) {
      const a = scheduled.get(String(e.activityTaskCompletedEventAttributes.scheduledEventId));
      if (a) add(completed(a, decode(e.activityTaskCompletedEventAttributes.result?.payloads?.[0] as Payload)));
    } else if (e.activityTaskFailedEventAttributes) {
      const a = scheduled.get(String(e.activityTaskFailedEventAttributes.scheduledEventId));
      add(failed(a, failureText(e.activityTaskFailedEventAttributes.failure)));
    } else if (e.activityTaskTimedOutEventAttributes) {
      add(failed(scheduled.get(String(e.activityTaskTimedOutEventAttributes.scheduledEventId)), 'timed out'));
    } else if (e.workflowExecutionSignaledEventAttributes) {
      add({ kind: 'request', text: requestText(e.workflowExecutionSignaledEventAttributes) });
    } else if (e.workflowExecutionUpdateAcceptedEventAttributes) {
      add({ kind: 'request', text: 'certificate delivered (autossl submit or deploy -c)' });
    } else if (e.workflowExecutionUpdateCompletedEventAttributes) {
      const o = e.workflowExecutionUpdateCompletedEventAttributes.outcome;
      if (o?.failure) add({ kind: 'failure', text: `delivered certificate refused: ${failureText(o.failure)}`, error: failureText(o.failure) });
      else {
        const r = decode(o?.success?.payloads?.[0] as Payload) as { serial?: string; notAfter?: string } | undefined;
        add({
          kind: 'certificate',
          text: `delivered certificate ${r?.serial} accepted, valid until ${r?.notAfter}`,
          serial: r?.serial,
          notAfter: r?.notAfter,
        });
      }
    } else if (e.timerStartedEventAttributes && summary) {
      add({ kind: 'wait', text: summary });
    } else if (e.upsertWorkflowSearchAttributesEventAttributes) {
      const next = decode(e.upsertWorkflowSearchAttributesEventAttributes.searchAttributes?.indexedFields?.AutosslState as Payload);
      if (typeof next === 'string' && next !== state) add({ kind: 'state', text: `state ${next}` });
      if (typeof next === 'string') state = next;
    } else if (e.workflowExecutionContinuedAsNewEventAttributes) {
      add(cycleClosed(decode(e.workflowExecutionContinuedAsNewEventAttributes.input?.payloads?.[0] as Payload) as LifecycleInput | undefined));
    } else if (e.workflowExecutionTerminatedEventAttributes) {
      add({
        kind: 'closed',
        text: `closed: terminated${e.workflowExecutionTerminatedEventAttributes.reason ? ` (${e.workflowExecutionTerminatedEventAttributes.reason})` : ''}`,
      });
    } else if (e.workflowExecutionFailedEventAttributes) {
      add({ kind: 'closed', text: `closed: failed (${failureText(e.workflowExecutionFailedEventAttributes.failure)})` });
    } else if (e.workflowExecutionCanceledEventAttributes) {
      add({ kind: 'closed', text: 'closed: cancelled' });
    }
  }
  return entries;
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
    for (const entry of runEntries(history.events ?? [])) entries.push({ ...entry, runId });
  }
  return entries;
}
