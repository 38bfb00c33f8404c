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
  patched,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { ActivityOptions, RetryPolicy } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { Blueprint, NotifyEventKind } from '../blueprint/types';
import { NON_RETRYABLE_NAMES, TIMED_OUT, UNCLASSIFIED, reasonCodeOf } from '../errors';
import type { CertificateFacts, Inspection, ServerFacts } from '../inspect/facts';
import { decide } from './decide';
import {
  DEFAULT_SETTINGS,
  blueprintSignal,
  renewSignal,
  serverFailure,
  statusQuery,
  submitUpdate,
  type CycleReport,
  type CycleRequest,
  type FailedStep,
  type LifecycleInput,
  type LifecycleSettings,
  type LifecycleStatus,
  type ServerStatus,
  type SubmitResult,
  type TrackEvent,
  type TrackStep,
} from './definitions';
import { CERTIFICATE_DOMAINS, CERTIFICATE_EXPIRY, CERTIFICATE_NAME, CERTIFICATE_STATE } from './search-attributes';
import { renderDetails } from './details';
import { expiryWarning, failedSteps, failureKey, failureWorthTelling, nextWake, nextWarningAt } from './rules';

type Activities = ReturnType<typeof createActivities>;

/**
 * Patch: an activity's failure says itself whether a retry can fix it, so retry policies list no error types; a
 * failure is told again when its steps or reason codes change, not its wording.
 */
const CLASSIFIED_FAILURES = 'classified-failures';

const retry = (maximumAttempts: number): RetryPolicy => ({
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '2m',
  maximumAttempts,
  // Histories recorded before failures classified themselves listed the types a retry cannot fix.
  ...(!patched(CLASSIFIED_FAILURES) && { nonRetryableErrorTypes: [...NON_RETRYABLE_NAMES] }),
});

const activities = (options: ActivityOptions) => proxyActivities<Activities>(options);
// Activities heartbeat every few seconds: a worker killed in the middle is noticed after this long, and
// the activity retried on another, instead of waiting for its whole start-to-close timeout.
const HEARTBEAT_TIMEOUT = '20s';
const quick = (summary: string) => activities({ startToCloseTimeout: '2m', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: retry(5), summary });
const issuing = (summary: string) => activities({ startToCloseTimeout: '15m', heartbeatTimeout: HEARTBEAT_TIMEOUT, retry: retry(8), summary });
// Tracking log and notifications: a few quick tries, then the cycle goes on without them.
const reporting = (summary: string) =>
  activities({ startToCloseTimeout: '1m', retry: { initialInterval: '2s', backoffCoefficient: 2, maximumAttempts: 3 }, summary });

/** Patch: the store and deploy steps report what they checked, instead of two more inspections per cycle. */
const LEAN_CYCLE = 'lean-cycle';

const HOUR = 60 * 60 * 1000;
/** Reminder interval while a manual CA's certificate is awaited, when neither settings nor `notify` say. */
const DEFAULT_REMINDER_INTERVAL_MS = 24 * HOUR;
const iso = (ms: number): string => new Date(ms).toISOString();

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

/** The activity that failed and the reason code of its failure (from its details, or its type for older workers). */
function failedStep(err: unknown): FailedStep {
  if (!(err instanceof ActivityFailure)) return { step: 'cycle', reasonCode: UNCLASSIFIED.reasonCode };
  const { cause } = err;
  const reasonCode =
    cause instanceof ApplicationFailure
      ? reasonCodeOf(cause.type, cause.details)
      : cause instanceof TimeoutFailure
        ? TIMED_OUT
        : UNCLASSIFIED.reasonCode;
  return { step: err.activityType, reasonCode };
}

export async function certificateLifecycle(input: LifecycleInput): Promise<never> {
  let blueprint = input.blueprint;
  const settings: LifecycleSettings = { ...DEFAULT_SETTINGS, ...input.settings };
  const status: LifecycleStatus = input.status ?? initialStatus(blueprint);
  const requests: CycleRequest[] = [...(input.requests ?? [])];
  let blueprintChanged = false;
  let delivered: (CertificateFacts & { pem: string }) | undefined;
  const reminderIntervalMs = () =>
    settings.reminderIntervalMs ?? (blueprint.notify ? blueprint.notify.reminderIntervalHours * HOUR : DEFAULT_REMINDER_INTERVAL_MS);

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
        const result: SubmitResult = { serial: facts.serial, notAfter: facts.notAfter, domains: facts.domains };
        delivered = { ...facts, pem: certificate };
        return result;
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
    // Current details live with the run: a continued run shows them while it sleeps (no command, no history).
    setCurrentDetails(renderDetails(status));
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
    // Histories recorded before this change inspected again after a renewal and after deploying.
    const lean = patched(LEAN_CYCLE);
    try {
      enter('Inspecting', 'inspecting storage and servers');
      let inspection = await quick('inspect storage and servers').inspect(blueprint);
      let decision = decide(inspection, { renewalDelayDays: blueprint.certificate.renewalDelayDays, now: Date.now(), force, allServers });
      applyInspection(inspection, decision);
      cycle.renewReasons = decision.renewReasons;

      if (decision.renew) {
        const renewed = await renew(decision.renewReasons.join('; '), cycle);
        cycle.renewed = true;
        status.renewalFailures = 0;
        // The store step checked the new certificate; the servers are as inspected, and all of them get it.
        inspection = lean ? { ...inspection, at: iso(Date.now()), stored: renewed } : await quick('inspect after renewal').inspect(blueprint);
        // After a renewal every server gets the new certificate.
        decision = decide(inspection, { renewalDelayDays: blueprint.certificate.renewalDelayDays, now: Date.now(), allServers: true });
        applyInspection(inspection, decision);
      }

      if (decision.deployTo.length > 0 && status.stored) {
        enter('Deploying', `deploying to ${decision.deployTo.length} server(s)`);
        const readBack = await deployAll(decision.deployTo, status.stored.serial, cycle);
        // Each deploy read back what its server holds now; the other servers are as inspected.
        inspection = lean
          ? { ...inspection, at: iso(Date.now()), servers: inspection.servers.map((s) => readBack.get(s.id) ?? s) }
          : await quick('verify servers').inspect(blueprint);
        applyInspection(inspection, decide(inspection, { renewalDelayDays: blueprint.certificate.renewalDelayDays, now: Date.now() }));
      }
      cycle.outcome ??= cycle.failed.length ? 'partial' : 'ok';
    } catch (err) {
      cycle.outcome = 'failed';
      cycle.error = reasonOf(err);
      cycle.failure = failedStep(err);
      status.renewalFailures += 1;
      log.warn('cycle failed', { certificate: blueprint.name, error: cycle.error });
      await track('failed', `cycle ${cycle.number} failed: ${cycle.error}`);
    }
    cycle.finishedAt = new Date().toISOString();
    settle(cycle);
    await announce(cycle);
  }

  /** Renews the certificate; with a manual CA, waits (durably) for a person to deliver it. */
  async function renew(why: string, cycle: CycleReport): Promise<CertificateFacts> {
    enter('Renewing', why);
    await track('renewal-requested', `renewal of ${blueprint.certificate.domains.join(', ')}: ${why}`);
    const ca = blueprint.certificateAuthorities.find((c) => c.key === blueprint.certificate.certificateAuthority);
    const caName = ca?.name ?? 'the CA';
    // Histories recorded before the CSR was stored as `<name>.csr` carry no location, nor the CA's capability.
    const prepared = await quick(`make key and CSR (renewal: ${why})`).prepareRenewal(blueprint);
    const { csr, csrLocation } = prepared;
    const storedAs = csrLocation ? `, stored as ${csrLocation}` : '';
    await track('csr-created', `new private key stored, CSR made for ${blueprint.certificate.domains.join(', ')}${storedAs}`, { csr });
    let received: CertificateFacts & { pem: string };
    if (prepared.awaitsPerson ?? ca?.type === 'manual') received = await awaitDelivery(caName, csr, csrLocation);
    else {
      const issued = await issuing(`order certificate from ${caName}`).issueCertificate(blueprint, csr);
      if (issued.notices?.length) cycle.notices = issued.notices;
      const pem = [issued.certificate, ...issued.chain].join('');
      received = { ...(await quick('check and store the issued certificate').storeCertificate(blueprint, { bundle: pem })), pem };
    }
    const noted = cycle.notices ? `; ${cycle.notices.join('; ')}` : '';
    await track('certificate-received', `certificate ${received.serial} from ${caName}, valid until ${received.notAfter}${noted}`, {
      certificate: received.pem,
    });
    const { pem: _pem, ...facts } = received;
    return facts;
  }

  /**
   * Waits, durably, for a person to deliver the manual CA's certificate (`autossl deploy -c` or `autossl submit`).
   * Reminds at every reminder interval, and escalates with `expiring` once the current certificate is within a
   * week of expiry. Every message says where the CSR to send to the CA is.
   */
  async function awaitDelivery(caName: string, csr: string, csrLocation: string | undefined): Promise<CertificateFacts & { pem: string }> {
    delivered = undefined;
    status.pendingCsr = csr;
    status.pendingCsrLocation = csrLocation;
    const since = Date.now();
    status.awaitingSince = iso(since);
    const where = csrLocation ? `CSR at ${csrLocation}` : "CSR in 'autossl status --json'";
    const waiting = `waiting for a person to deliver the certificate from ${caName} (autossl deploy -c or autossl submit); ${where}`;
    enter('AwaitingCertificate', waiting);
    await track('awaiting-certificate', waiting);
    await notify('awaiting-certificate', waiting);
    for (let reminders = 0; ;) {
      const warning = expiryWarning(status.stored, Date.now());
      if (warning) {
        status.reason = `${waiting}; ${warning}`;
        publish();
        await notify('expiring', `${warning} and its renewal still awaits the certificate from ${caName}`);
      }
      const nextReminder = since + (reminders + 1) * reminderIntervalMs();
      const escalation = nextWarningAt(status.stored, Date.now());
      const wakeAt = escalation !== null && escalation < nextReminder ? escalation : nextReminder;
      const summary =
        wakeAt === nextReminder
          ? `remind at ${iso(wakeAt)}: certificate from ${caName} awaited`
          : `escalate at ${iso(wakeAt)}: certificate near expiry`;
      if (await condition(() => delivered !== undefined, Math.max(1, wakeAt - Date.now()), { summary })) break;
      if (Date.now() >= nextReminder) {
        reminders += 1;
        const message = `certificate from ${caName} still awaited since ${status.awaitingSince} (reminder ${reminders}); ${where}`;
        log.warn('certificate still awaited', { certificate: blueprint.name, ca: caName, reminders });
        await track('reminder', message);
        await notify('awaiting-certificate', message);
      }
    }
    status.pendingCsr = undefined;
    status.pendingCsrLocation = undefined;
    status.awaitingSince = undefined;
    // Out of AwaitingCertificate in the same activation as the accepted update: a second delivery is refused.
    enter('Renewing', `certificate ${delivered!.serial} delivered`);
    return delivered!;
  }

  /** Records a step in the tracking log, when the blueprint keeps one. History is the record of truth: a log
   * that cannot be written is reported on the worker, and the cycle goes on. */
  async function track(step: TrackStep, message: string, artifacts: Pick<TrackEvent, 'csr' | 'certificate'> = {}): Promise<void> {
    if (!blueprint.tracking) return;
    try {
      await reporting(`track ${step}`).track(blueprint, { step, message, at: iso(Date.now()), ...artifacts });
    } catch (err) {
      log.warn('tracking log not written', { certificate: blueprint.name, step, error: reasonOf(err) });
    }
  }

  /** Notifies the blueprint's `notify` channels that asked for `event`; a failed notification never fails the cycle. */
  async function notify(event: NotifyEventKind, reason: string, failed?: FailedStep[]): Promise<void> {
    if (!blueprint.notify?.events.includes(event)) return;
    try {
      await reporting(`notify ${event}`).notify(blueprint, {
        event,
        state: status.state,
        reason,
        ...(status.stored && { serial: status.stored.serial, notAfter: status.stored.notAfter }),
        ...(status.pendingCsrLocation && { csrLocation: status.pendingCsrLocation }),
        servers: status.servers.map((s) => ({ id: s.id, label: s.label, state: s.state, ...(s.lastError && { error: s.lastError }) })),
        ...(failed && { failed }),
        at: iso(Date.now()),
      });
    } catch (err) {
      log.warn('notification failed', { certificate: blueprint.name, event, error: reasonOf(err) });
    }
  }

  /** Closes the tracking record of a cycle that did something, and tells whoever asked. */
  async function announce(cycle: CycleReport): Promise<void> {
    const acted = cycle.renewReasons.length > 0 || cycle.deployed.length > 0 || cycle.failed.length > 0 || cycle.outcome === 'failed';
    if (acted) {
      const renewed = cycle.renewed ? `renewed (certificate ${status.stored?.serial}, valid until ${status.stored?.notAfter})` : 'not renewed';
      const failed = cycle.failed.map(serverFailure);
      const deployed = cycle.deployed.map((id) => status.servers.find((s) => s.id === id)?.label ?? id);
      await track(
        'closed',
        `cycle ${cycle.number} ${cycle.outcome}: ${renewed}; deployed to ${deployed.join(', ') || 'no server'}` +
          `${failed.length ? `; failed: ${failed.join('; ')}` : ''}${cycle.error ? `; error: ${cycle.error}` : ''}`,
      );
      await notifyOutcome(cycle);
    }
    const now = Date.now();
    const warning = cycle.renewed ? null : expiryWarning(status.stored, now);
    const quiet = status.expiringNotifiedAt && now - Date.parse(status.expiringNotifiedAt) < reminderIntervalMs();
    if (warning && !quiet) {
      status.expiringNotifiedAt = iso(now);
      await notify('expiring', `${warning} and it was not renewed: ${status.reason}`);
    }
  }

  /**
   * A cycle's success, or its failure. A server or CA that keeps failing is retried every few minutes: its failure
   * is told once, again when the reason changes or a reminder interval has passed, and its recovery always.
   */
  async function notifyOutcome(cycle: CycleReport): Promise<void> {
    const failed = cycle.outcome !== 'ok';
    const previous = status.failureNotified;
    // A new ACME account is told with the outcome, never held back with a repeated failure.
    const told = cycle.notices ? `${status.reason}; ${cycle.notices.join('; ')}` : status.reason;
    if (!failed) {
      status.failureNotified = undefined;
      await notify('success', told);
      return;
    }
    const now = Date.now();
    const steps = failedSteps(cycle);
    // Histories recorded before failures carried reason codes compared the wording.
    const key = patched(CLASSIFIED_FAILURES) ? failureKey(steps) : undefined;
    if (!failureWorthTelling(previous, status.reason, now, reminderIntervalMs(), Boolean(cycle.notices), key)) return;
    status.failureNotified = { at: iso(now), reason: status.reason, ...(key !== undefined && { key }) };
    await notify('failure', told, steps);
  }

  /** Deploys to `ids` in parallel; returns what each server that took the pair holds now. */
  async function deployAll(ids: string[], serial: string, cycle: CycleReport): Promise<Map<string, ServerFacts>> {
    const readBack = new Map<string, ServerFacts>();
    await Promise.all(
      ids.map(async (id) => {
        const server = status.servers.find((s) => s.id === id)!;
        try {
          const facts = await activities({
            startToCloseTimeout: '5m',
            heartbeatTimeout: HEARTBEAT_TIMEOUT,
            retry: retry(3),
            summary: `deploy to ${server.label}`,
          }).deployToServer(blueprint, id, serial);
          // Absent in histories recorded before deploys read back.
          if (facts) readBack.set(id, facts);
          server.failures = 0;
          server.lastError = undefined;
          server.lastDeployedAt = new Date().toISOString();
          server.lastDeployedSerial = serial;
          cycle.deployed.push(id);
          await track('deployed', `certificate ${serial} deployed to ${server.label}`);
        } catch (err) {
          server.failures += 1;
          server.lastError = reasonOf(err);
          server.state = 'failed';
          cycle.failed.push({ id, label: server.label, error: server.lastError, reasonCode: failedStep(err).reasonCode });
          await track('deploy-failed', `deploy of ${serial} to ${server.label} failed: ${server.lastError}`);
        }
      }),
    );
    return readBack;
  }

  function applyInspection(inspection: Inspection, decision: ReturnType<typeof decide>): void {
    status.stored = inspection.stored;
    status.renewAt = decision.renewAt;
    status.servers = decision.servers.map((v): ServerStatus => {
      const previous = status.servers.find((s) => s.id === v.id);
      const held = inspection.servers.find((s) => s.id === v.id)?.certificate;
      return {
        id: v.id,
        label: v.label,
        // A server whose last deploy failed stays 'failed' (with its error) until a deploy succeeds.
        state: v.upToDate ? 'ok' : previous?.failures ? 'failed' : 'out-of-date',
        reasons: v.reasons,
        ...(held && { notAfter: held.notAfter }),
        // A server found holding the stored pair has recovered, whatever its last deploy said.
        lastError: v.upToDate ? undefined : previous?.lastError,
        lastDeployedAt: previous?.lastDeployedAt,
        lastDeployedSerial: previous?.lastDeployedSerial,
        failures: v.upToDate ? 0 : (previous?.failures ?? 0),
      };
    });
  }

  /** Final state of the cycle and when to wake next. */
  function settle(cycle: CycleReport): void {
    const now = Date.now();
    const failing = status.servers.filter((s) => s.state !== 'ok');
    const next = nextWake({
      now,
      checkIntervalMs: settings.checkIntervalMs,
      renewAt: status.renewAt,
      failingServers: failing,
      ...(cycle.outcome === 'failed' && { renewalFailures: status.renewalFailures }),
    });
    status.nextWakeAt = new Date(next.at).toISOString();
    status.nextWakeReason = next.why;
    if (cycle.outcome === 'failed') enter('RenewalFailed', cycle.error ?? 'cycle failed');
    else if (failing.length) {
      enter('Degraded', failing.map((s) => serverFailure({ id: s.id, label: s.label, error: s.lastError ?? s.reasons.join('; ') })).join(' | '));
    } else enter('Ready', status.stored ? `valid until ${status.stored.notAfter}` : 'no certificate');
    log.info('cycle finished', { certificate: blueprint.name, outcome: cycle.outcome, next: status.nextWakeAt, run: workflowInfo().runId });
  }
}
