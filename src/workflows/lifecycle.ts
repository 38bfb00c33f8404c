// One certificate's life: inspect → decide → renew → store → deploy → verify → wait, one cycle per run, then
// continue-as-new with the state passed on, so history stays bounded however long the certificate lives.
import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  condition,
  continueAsNew,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  log,
} from '@temporalio/workflow';
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { Blueprint } from '../blueprint/types';
import type { Inspection } from '../inspect/facts';
import { decide } from './decide';
import {
  DEFAULT_SETTINGS,
  blueprintSignal,
  renewSignal,
  statusQuery,
  submitUpdate,
  type CycleReport,
  type CycleRequest,
  type LifecycleInput,
  type LifecycleSettings,
  type LifecycleStatus,
  type ServerStatus,
  type SubmitResult,
} from './definitions';
import { CERTIFICATE_DOMAINS, CERTIFICATE_EXPIRY, CERTIFICATE_NAME, CERTIFICATE_STATE } from './search-attributes';
import { renderDetails } from './details';

type Activities = ReturnType<typeof createActivities>;

/** Errors a retry cannot fix: the blueprint, the certificate or a person must change first. */
export const NON_RETRYABLE = [
  'BlueprintError',
  'PluginConfigError',
  'CertificateError',
  'KeyError',
  'CsrError',
  'X509Error',
  'CertificateRejected',
  'CredentialError',
  'ManualCaError',
];

const retry = (maximumAttempts: number): RetryPolicy => ({
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '2m',
  maximumAttempts,
  nonRetryableErrorTypes: NON_RETRYABLE,
});

const activities = (options: ActivityOptions) => proxyActivities<Activities>(options);
const quick = (summary: string) => activities({ startToCloseTimeout: '2m', retry: retry(5), summary });
const issuing = (summary: string) =>
  activities({ startToCloseTimeout: '15m', heartbeatTimeout: '1m', retry: retry(8), summary });

/** Cap of the back-off between failing cycles. */
const MAX_FAILURE_BACKOFF_MS = 6 * 60 * 60 * 1000;
const FIRST_FAILURE_BACKOFF_MS = 60 * 1000;

function failureBackoff(failures: number, checkIntervalMs: number): number {
  return Math.min(FIRST_FAILURE_BACKOFF_MS * 2 ** Math.max(0, failures - 1), MAX_FAILURE_BACKOFF_MS, checkIntervalMs);
}

function initialStatus(blueprint: Blueprint): LifecycleStatus {
  return {
    name: blueprint.name,
    state: 'Initializing',
    reason: 'first inspection pending',
    domains: blueprint.certificate.domains,
    stored: null,
    renewAt: null,
    servers: blueprint.servers.map((s) => ({ id: s.id, label: s.id, state: 'unknown', reasons: [], failures: 0 })),
    nextWakeAt: null,
    nextWakeReason: '',
    lastCycle: null,
    cycles: 0,
    renewalFailures: 0,
  };
}

/** The message a person should read from a failed activity: its cause, not the wrapper. */
function reasonOf(err: unknown): string {
  if (err instanceof ActivityFailure && err.cause) return err.cause.message;
  return err instanceof Error ? err.message : String(err);
}

export async function certificateLifecycle(input: LifecycleInput): Promise<never> {
  let blueprint = input.blueprint;
  const settings: LifecycleSettings = { ...DEFAULT_SETTINGS, ...input.settings };
  const status: LifecycleStatus = input.status ?? initialStatus(blueprint);
  const requests: CycleRequest[] = [...(input.requests ?? [])];
  let blueprintChanged = false;
  let delivered: SubmitResult | undefined;

  setHandler(statusQuery, () => status);
  setHandler(renewSignal, (request) => {
    if (request.blueprint) {
      blueprint = request.blueprint;
      blueprintChanged = true;
    }
    requests.push({ id: request.id, force: request.force, allServers: request.allServers });
  });
  setHandler(blueprintSignal, (next) => {
    blueprint = next;
    blueprintChanged = true;
  });
  setHandler(
    submitUpdate,
    async ({ certificate }) => {
      if (status.state !== 'AwaitingCertificate') {
        throw ApplicationFailure.nonRetryable(`'${blueprint.name}' is not awaiting a certificate (state ${status.state})`, 'NotAwaiting');
      }
      try {
        const facts = await quick('check and store the delivered certificate').storeCertificate(blueprint, { bundle: certificate });
        delivered = { serial: facts.serial, notAfter: facts.notAfter, domains: facts.domains };
        return delivered;
      } catch (err) {
        throw ApplicationFailure.nonRetryable(reasonOf(err), 'CertificateRejected');
      }
    },
    {
      validator: ({ certificate }) => {
        if (typeof certificate !== 'string' || !certificate.includes('-----BEGIN CERTIFICATE-----')) {
          throw new Error('not a PEM certificate (no BEGIN CERTIFICATE block)');
        }
      },
    },
  );

  const publish = () => {
    upsertSearchAttributes([
      { key: CERTIFICATE_NAME, value: blueprint.name },
      { key: CERTIFICATE_DOMAINS, value: blueprint.certificate.domains },
      { key: CERTIFICATE_STATE, value: status.state },
      ...(status.stored ? [{ key: CERTIFICATE_EXPIRY, value: new Date(status.stored.notAfter) }] : []),
    ]);
    setCurrentDetails(renderDetails(status));
  };
  const enter = (state: LifecycleStatus['state'], reason: string) => {
    status.state = state;
    status.reason = reason;
    publish();
  };

  if (input.status) {
    const wakeAt = status.nextWakeAt ? Date.parse(status.nextWakeAt) : Date.now();
    await condition(() => requests.length > 0 || blueprintChanged, Math.max(0, wakeAt - Date.now()), {
      summary: `wait until ${status.nextWakeAt ?? 'now'}: ${status.nextWakeReason}`,
    });
  } else {
    publish();
  }

  await runCycle();
  await condition(allHandlersFinished);
  return continueAsNew<typeof certificateLifecycle>({ blueprint, settings: input.settings, status, requests });

  async function runCycle(): Promise<void> {
    const served = requests.splice(0, requests.length);
    blueprintChanged = false;
    const force = served.some((r) => r.force);
    const allServers = served.some((r) => r.allServers);
    const cycle: CycleReport = {
      number: status.cycles + 1,
      startedAt: new Date().toISOString(),
      requestIds: served.map((r) => r.id),
      renewed: false,
      renewReasons: [],
      deployed: [],
      failed: [],
    };
    status.cycles = cycle.number;
    status.lastCycle = cycle;
    status.domains = blueprint.certificate.domains;
    try {
      enter('Inspecting', 'inspecting storage and servers');
      let inspection = await quick('inspect storage and servers').inspect(blueprint);
      let decision = decide(inspection, { renewalDelayDays: blueprint.certificate.renewalDelayDays, now: Date.now(), force, allServers });
      applyInspection(inspection, decision.servers);
      cycle.renewReasons = decision.renewReasons;

      if (decision.renew) {
        await renew(decision.renewReasons.join('; '));
        cycle.renewed = true;
        status.renewalFailures = 0;
        inspection = await quick('inspect after renewal').inspect(blueprint);
        // After a renewal every server gets the new certificate.
        decision = decide(inspection, { renewalDelayDays: blueprint.certificate.renewalDelayDays, now: Date.now(), allServers: true });
        applyInspection(inspection, decision.servers);
      }

      if (decision.deployTo.length > 0 && status.stored) {
        enter('Deploying', `deploying to ${decision.deployTo.length} server(s)`);
        await deployAll(decision.deployTo, status.stored.serial, cycle);
        inspection = await quick('verify servers').inspect(blueprint);
        applyInspection(inspection, decide(inspection, { renewalDelayDays: blueprint.certificate.renewalDelayDays, now: Date.now() }).servers);
      }
      cycle.outcome ??= cycle.failed.length ? 'partial' : 'ok';
    } catch (err) {
      cycle.outcome = 'failed';
      cycle.error = reasonOf(err);
      status.renewalFailures += 1;
      log.warn('cycle failed', { certificate: blueprint.name, error: cycle.error });
    }
    cycle.finishedAt = new Date().toISOString();
    settle(cycle);
  }

  /** Renews the certificate; with a manual CA, waits (durably) for a person to deliver it. */
  async function renew(why: string): Promise<void> {
    enter('Renewing', why);
    const ca = blueprint.certificateAuthorities.find((c) => c.key === blueprint.certificate.certificateAuthority);
    const { csr } = await quick('make key and CSR').prepareRenewal(blueprint);
    if (ca?.type === 'manual') {
      delivered = undefined;
      status.pendingCsr = csr;
      enter('AwaitingCertificate', `waiting for a person to deliver the certificate from ${ca.name} (autossl submit)`);
      while (!(await condition(() => delivered !== undefined, settings.reminderIntervalMs))) {
        log.warn('certificate still awaited', { certificate: blueprint.name, ca: ca.name });
      }
      status.pendingCsr = undefined;
      return;
    }
    const issued = await issuing(`order certificate from ${ca?.name ?? 'CA'}`).issueCertificate(blueprint, csr);
    await quick('store certificate').storeCertificate(blueprint, { bundle: [issued.certificate, ...issued.chain].join('') });
  }

  async function deployAll(ids: string[], serial: string, cycle: CycleReport): Promise<void> {
    await Promise.all(
      ids.map(async (id) => {
        const server = status.servers.find((s) => s.id === id)!;
        try {
          await activities({ startToCloseTimeout: '5m', retry: retry(3), summary: `deploy to ${server.label}` }).deployToServer(blueprint, id, serial);
          server.failures = 0;
          server.lastError = undefined;
          server.lastDeployedAt = new Date().toISOString();
          server.lastDeployedSerial = serial;
          cycle.deployed.push(id);
        } catch (err) {
          server.failures += 1;
          server.lastError = reasonOf(err);
          server.state = 'failed';
          cycle.failed.push({ id, label: server.label, error: server.lastError });
        }
      }),
    );
  }

  function applyInspection(inspection: Inspection, verdicts: ReturnType<typeof decide>['servers']): void {
    status.stored = inspection.stored;
    status.renewAt = inspection.stored
      ? decide(inspection, { renewalDelayDays: blueprint.certificate.renewalDelayDays, now: Date.now() }).renewAt
      : null;
    status.servers = verdicts.map((v): ServerStatus => {
      const previous = status.servers.find((s) => s.id === v.id);
      return {
        id: v.id,
        label: v.label,
        // A server whose last deploy failed stays 'failed' (with its error) until a deploy succeeds.
        state: v.upToDate ? 'ok' : previous?.failures ? 'failed' : 'out-of-date',
        reasons: v.reasons,
        lastError: previous?.lastError,
        lastDeployedAt: previous?.lastDeployedAt,
        lastDeployedSerial: previous?.lastDeployedSerial,
        failures: previous?.failures ?? 0,
      };
    });
  }

  /** Final state of the cycle and when to wake next. */
  function settle(cycle: CycleReport): void {
    const now = Date.now();
    const candidates: { at: number; why: string }[] = [{ at: now + settings.checkIntervalMs, why: 'periodic drift check' }];
    if (status.renewAt) candidates.push({ at: Date.parse(status.renewAt), why: 'renewal due' });
    const failing = status.servers.filter((s) => s.state !== 'ok');
    for (const s of failing) {
      candidates.push({ at: now + failureBackoff(Math.max(1, s.failures), settings.checkIntervalMs), why: `retry ${s.label}` });
    }
    if (cycle.outcome === 'failed') {
      candidates.push({ at: now + failureBackoff(status.renewalFailures, settings.checkIntervalMs), why: 'retry after failure' });
    }
    const next = candidates.reduce((a, b) => (b.at < a.at ? b : a));
    status.nextWakeAt = new Date(Math.max(next.at, now)).toISOString();
    status.nextWakeReason = next.why;
    if (cycle.outcome === 'failed') enter('RenewalFailed', cycle.error ?? 'cycle failed');
    else if (failing.length) {
      enter('Degraded', failing.map((s) => `${s.label}: ${s.lastError ?? s.reasons.join('; ')}`).join(' | '));
    } else enter('Ready', status.stored ? `valid until ${status.stored.notAfter}` : 'no certificate');
    log.info('cycle finished', { certificate: blueprint.name, outcome: cycle.outcome, next: status.nextWakeAt, run: workflowInfo().runId });
  }
}
