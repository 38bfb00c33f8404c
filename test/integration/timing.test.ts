// Renewal timing over months, on the time-skipping test server. The activities here are stand-ins that date
// certificates with the server's (skipped) clock, so the workflow's timers are what is under test.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { createActivities } from '../../src/activities';
import type { Blueprint, NotifyEventKind } from '../../src/blueprint/types';
import type { CertificateFacts } from '../../src/inspect/facts';
import { statusQuery, workflowIdFor, type LifecycleInput } from '../../src/workflows/definitions';
import { CERTIFICATE_DOMAINS, CERTIFICATE_EXPIRY, CERTIFICATE_NAME, CERTIFICATE_STATE } from '../../src/workflows/search-attributes';
import { bundleWorkflows } from '../../src/worker/worker';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { startTimeSkipping } from '../helpers/temporal';

const DAY = 86_400_000;

function blueprint(name: string, renewalDelayDays: number): Blueprint {
  return {
    name,
    source: { blueprint: `${name}.yaml` },
    servers: [{ id: 'local:/srv/a', type: 'local', declaredType: 'local', parameters: { path: '/srv/a' }, crtName: name }],
    certificate: {
      type: 'DV',
      certificateAuthority: 'CA',
      commonName: name,
      domains: [name],
      san: [],
      renewalDelayDays,
      exactMatch: false,
      privateKeyReuse: false,
      key: { type: 'ec', curve: 'P-256' },
      chainOfTrust: [],
      isCa: false,
    },
    certificateAuthorities: [
      { name: 'CA', key: 'CA', type: 'local-ca', declaredType: 'local-ca', certificateTypes: ['DV'], chainOfTrust: [], parameters: {} },
    ],
    credentials: {},
  };
}

/** An in-memory CA, store and server whose certificates live `lifetimeDays` from the moment they are issued. */
function fakeActivities(lifetimeDays: number, opts: { deployFails?: () => boolean } = {}) {
  const issuedAt: number[] = [];
  const notified: { event: string; at: number }[] = [];
  let stored: CertificateFacts | null = null;
  let deployed: CertificateFacts | null = null;
  const now = () => Context.current().info.currentAttemptScheduledTimestampMs;
  const activities: ReturnType<typeof createActivities> = {
    async inspect(b) {
      return { at: new Date(now()).toISOString(), stored, servers: [{ id: b.servers[0].id, label: b.servers[0].id, certificate: deployed }] };
    },
    async prepareRenewal() {
      return { csr: '-----BEGIN CERTIFICATE REQUEST-----' };
    },
    async issueCertificate() {
      issuedAt.push(now());
      return { certificate: `certificate ${issuedAt.length}`, chain: [] };
    },
    async storeCertificate(b) {
      const t = now();
      stored = {
        serial: String(issuedAt.length),
        issuer: 'fake',
        notBefore: new Date(t).toISOString(),
        notAfter: new Date(t + lifetimeDays * DAY).toISOString(),
        domains: b.certificate.domains,
        coverage: { ok: true, missing: [], extra: [] },
        keyMatches: true,
        chain: null,
      };
      return stored;
    },
    async deployToServer(b) {
      if (opts.deployFails?.()) throw ApplicationFailure.nonRetryable('disk full', 'PluginIoError');
      deployed = stored;
      return { id: b.servers[0].id, label: b.servers[0].id, certificate: deployed };
    },
    async track() {},
    async notify(_b, event) {
      notified.push({ event: event.event, at: now() });
    },
  };
  return { activities, issuedAt, notified };
}

describe('renewal timing (time-skipping server)', () => {
  let env: TestWorkflowEnvironment;
  let bundle: WorkflowBundleWithSourceMap;

  before(async () => {
    env = await startTimeSkipping();
    const keys = [CERTIFICATE_NAME, CERTIFICATE_DOMAINS, CERTIFICATE_EXPIRY, CERTIFICATE_STATE];
    await env.connection.operatorService.addSearchAttributes({
      namespace: 'default',
      searchAttributes: Object.fromEntries(keys.map((k) => [k.name, encodeSearchAttributeIndexedValueType(k.type)!])),
    });
    bundle = await bundleWorkflows();
  });
  after(async () => {
    await env?.teardown();
  });

  async function live(
    name: string,
    lifetimeDays: number,
    renewalDelayDays: number,
    days: number,
    checkIntervalDays: number,
    opts: { notify?: Blueprint['notify']; deployFails?: (day: number) => boolean } = {},
  ) {
    let today = 0;
    const { activities, issuedAt, notified } = fakeActivities(lifetimeDays, { deployFails: () => opts.deployFails?.(today) ?? false });
    const taskQueue = `timing-${name}`;
    const worker = await Worker.create({ connection: env.nativeConnection, taskQueue, workflowBundle: bundle, activities });
    return worker.runUntil(async () => {
      const input: LifecycleInput = {
        blueprint: { ...blueprint(name, renewalDelayDays), ...(opts.notify && { notify: opts.notify }) },
        settings: { checkIntervalMs: checkIntervalDays * DAY },
      };
      const handle = await env.client.workflow.start('certificateLifecycle', { workflowId: workflowIdFor(name), taskQueue, args: [input] });
      const start = (await handle.describe()).startTime.getTime();
      const observed: { day: number; issued: number }[] = [];
      for (let day = 1; day <= days; day++) {
        today = day - 1;
        await env.sleep(DAY);
        observed.push({ day, issued: issuedAt.length });
      }
      const status = await handle.query(statusQuery);
      const history = await handle.fetchHistory();
      await handle.terminate('test over');
      return {
        observed,
        issuedDays: issuedAt.map((t) => (t - start) / DAY),
        notified: notified.map((n) => ({ event: n.event, day: (n.at - start) / DAY })),
        status,
        historyEvents: history.events?.length ?? 0,
      };
    });
  }

  it('renews a 90-day certificate with renewal_delay 30 at day 60, not before', async () => {
    const { issuedDays, observed, status } = await live('ninety.test', 90, 30, 62, 7);
    assert.equal(observed.find((o) => o.day === 59)?.issued, 1, 'only the first issuance before day 60');
    assert.equal(issuedDays.length, 2);
    assert.ok(Math.abs(issuedDays[1] - 60) < 0.01, `renewed at day ${issuedDays[1]}`);
    assert.equal(status.state, 'Ready');
  });

  it('renews a 6-day certificate inside its lifetime without looping', async () => {
    const { issuedDays, status } = await live('six.test', 6, 30, 12, 1);
    // Half the lifetime is kept: issued at day 0, 3, 6, 9, 12 at most, never more.
    assert.ok(issuedDays.length >= 4 && issuedDays.length <= 5, `issued at ${issuedDays.join(', ')}`);
    for (let i = 1; i < issuedDays.length; i++) {
      const gap = issuedDays[i] - issuedDays[i - 1];
      assert.ok(gap > 2.9 && gap < 6, `gap ${gap} days`);
    }
    assert.ok(Date.parse(status.stored!.notAfter) > Date.parse(status.nextWakeAt!), 'wakes before expiry');
  });

  it('keeps each run short over many cycles (continue-as-new)', async () => {
    const { status, historyEvents } = await live('many.test', 90, 30, 20, 0.25);
    assert.ok(status.cycles >= 80, `cycles ${status.cycles}`);
    assert.ok(historyEvents < 60, `current run has ${historyEvents} events`);
  });

  it('tells of a failure that lasts days once per reminder interval, not on every retry, and of the recovery', async () => {
    const notify = { command: ['true'], events: ['failure', 'success'] as NotifyEventKind[], reminderIntervalHours: 24 };
    // The server refuses deploys for the first three days, then takes them.
    const { notified, status } = await live('flaky.test', 90, 30, 4, 0.25, { notify, deployFails: (day) => day < 3 });
    const failures = notified.filter((n) => n.event === 'failure').map((n) => n.day);
    assert.ok(status.cycles > 15, `retried in ${status.cycles} cycles`);
    assert.ok(failures.length >= 3 && failures.length <= 4, `failure told on days ${failures.map((d) => d.toFixed(2)).join(', ')}`);
    for (let i = 1; i < failures.length; i++) assert.ok(failures[i] - failures[i - 1] >= 1, 'a day apart at least');
    const recovered = notified.filter((n) => n.event === 'success');
    assert.ok(recovered.length >= 1 && recovered[0].day >= 3, `success told on days ${recovered.map((n) => n.day.toFixed(2))}`);
    assert.equal(status.state, 'Ready');
  });
});
