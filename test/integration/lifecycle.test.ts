// The lifecycle workflow on a real Temporal dev server, with the real local plugins and LocalCa.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal as proto } from '@temporalio/proto';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import { requestCycle, waitForCycle, queryStatus, type Session } from '../../src/client/temporal';
import { submitUpdate, workflowIdFor } from '../../src/workflows/definitions';
import { createSelfSignedCa, generatePrivateKey, parseCertificate, signCertificate } from '../../src/x509';
import { runCli } from '../helpers/cli';
import { daysAgo, issueLeaf, makeCa } from '../helpers/pki';
import { temporalBinary, type TestDevServer } from '../helpers/temporal';
import { everyString, startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';
import { startWebhook, type Webhook } from '../helpers/webhook';

const execFileAsync = promisify(execFile);
/** Certificate workflows of this file: their histories are recorded as replay fixtures and checked for keys. */
const RECORDED = ['first.test', 'partial.test', 'manual.test', 'reminded.test'];

const silent = { out() {}, err() {} };

describe('certificate lifecycle on the dev server', () => {
  let temporal: TestDevServer;
  let harness: LifecycleHarness;
  let session: Session;
  let dir: string;
  let hook: Webhook;
  const taskQueue = 'lifecycle-test';

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-lifecycle-'));
    hook = await startWebhook();
    harness = await startLifecycleHarness(taskQueue);
    ({ temporal, session } = harness);
  });

  after(async () => {
    if (process.env.AUTOSSL_RECORD_HISTORIES) await recordHistories();
    await harness?.stop();
    await hook?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** Saves every run's history as a replay fixture (run with AUTOSSL_RECORD_HISTORIES=1 after a workflow change). */
  async function recordHistories(): Promise<void> {
    const target = path.resolve(__dirname, '../../../test/fixtures/histories');
    await fs.mkdir(target, { recursive: true });
    for (const name of RECORDED) {
      const runs = [];
      for await (const wf of temporal.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(name)}'` })) runs.push(wf);
      runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
      for (const [i, wf] of runs.entries()) {
        // The CLI writes the canonical proto3 JSON that historyFromJSON reads back.
        const { stdout } = await execFileAsync(
          await temporalBinary('cli'),
          ['workflow', 'show', '--address', temporal.address, '--workflow-id', wf.workflowId, '--run-id', wf.runId, '--output', 'json'],
          { maxBuffer: 64 * 1024 * 1024 },
        );
        // Stack traces in failures name the checkout's folder (and node_modules', which may be a link to another):
        // keep where this machine keeps them out of the fixtures.
        const checkout = path.resolve(__dirname, '../../..');
        const modules = await fs.realpath(path.join(checkout, 'node_modules'));
        const portable = stdout.split(modules).join('/autossl/node_modules').split(checkout).join('/autossl');
        await fs.writeFile(path.join(target, `${name}-${i + 1}.json`), portable);
      }
    }
  }

  /** The built CLI against the test server, as a person runs it. */
  const autossl = (...args: string[]) => runCli([...args, '--address', temporal.address], { cwd: dir });

  /** `tracking:` (LocalFileTracking) and `notify:` (the test's webhook) sections for a blueprint. */
  const reporting = (name: string, notify = '') => `
tracking:
  type: autossl.tracking.local.LocalFileTracking
  parameters: { log_folder: ${dir}/${name}/tracking }
notify:
  webhook: { url: '${hook.url}', headers: { X-Test: '${name}' } }
${notify}`;

  async function trackingLog(
    name: string,
  ): Promise<{ step: string; message: string; workflow_id: string; csr?: string; certificate_pem?: string }[]> {
    const text = await fs.readFile(path.join(dir, name, 'tracking', `${name}.log`), 'utf8');
    assert.doesNotMatch(text, /PRIVATE KEY/);
    return text
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
  }

  async function blueprint(name: string, extra: { ca?: string; servers?: string; more?: string } = {}): Promise<Blueprint> {
    const file = path.join(dir, `${name}.yaml`);
    const servers =
      extra.servers ??
      `
  - type: local
    parameters: { path: ${dir}/${name}/web-1 }
  - type: autossl.server.local.LocalServer
    parameters: { path: ${dir}/${name}/web-2, deploy_full_chain: true }`;
    await fs.writeFile(
      file,
      `name: ${name}
servers:${servers}
certificate:
  type: DV
  certificate_authority: ${extra.ca ?? 'Local'}
  common_name: ${name}
  san: [alt.${name}]
certificate_authorities:
  - name: Local test CA
    key: Local
    type: local-ca
    storage: { type: local, parameters: { path: ${dir}/ca } }
    parameters: { ca_private_key: ca, ca_certificate: ca, create_if_missing: true, certificate_validity_days: 90 }
  - name: Manual CA
    key: Manual
storage:
  type: local
  parameters: { path: ${dir}/${name}/storage }
${extra.more ?? ''}`,
    );
    const [b] = await loadBlueprints({ blueprint: file });
    return b;
  }

  async function cycle(b: Blueprint, request: { force?: boolean; allServers?: boolean } = {}) {
    const id = await requestCycle(session, b, request);
    return waitForCycle(session, workflowIdFor(b.name), id, silent, 60_000);
  }

  const deployedSerial = async (file: string) => parseCertificate(await fs.readFile(file, 'utf8')).serial;

  it('issues with LocalCa and deploys to both servers, then is Ready with a next wake-up', async () => {
    const b = await blueprint('first.test');
    const { status, finished } = await cycle(b);
    assert.equal(finished, true);
    assert.equal(status.state, 'Ready', status.reason);
    assert.equal(status.lastCycle?.renewed, true);
    assert.deepEqual(status.lastCycle?.deployed.sort(), b.servers.map((s) => s.id).sort());
    assert.ok(status.stored);
    const serial = status.stored.serial;
    assert.equal(await deployedSerial(path.join(dir, 'first.test/web-1/first.test.crt')), serial);
    const fullChain = await fs.readFile(path.join(dir, 'first.test/web-2/first.test.crt'), 'utf8');
    assert.equal(fullChain.match(/BEGIN CERTIFICATE/g)?.length, 2, 'deploy_full_chain writes leaf + CA');
    assert.equal((await fs.stat(path.join(dir, 'first.test/web-1/first.test.key'))).mode & 0o777, 0o600);
    assert.ok(status.nextWakeAt && Date.parse(status.nextWakeAt) > Date.now());
    assert.ok(status.servers.every((s) => s.state === 'ok'));

    // A second start of the same blueprint reaches the same workflow and renews nothing.
    const again = await cycle(b);
    assert.equal(again.status.lastCycle?.renewed, false);
    assert.equal(again.status.stored?.serial, serial);
    assert.equal(again.status.cycles, status.cycles + 1);

    // Forced renewal: a new certificate everywhere.
    const forced = await cycle(b, { force: true });
    assert.equal(forced.status.lastCycle?.renewed, true);
    assert.notEqual(forced.status.stored?.serial, serial);
    assert.equal(await deployedSerial(path.join(dir, 'first.test/web-2/first.test.crt')), forced.status.stored?.serial);

    // A certificate removed by hand comes back on the next cycle.
    await fs.rm(path.join(dir, 'first.test/web-1/first.test.crt'));
    const drift = await cycle(b);
    assert.deepEqual(drift.status.lastCycle?.deployed, [b.servers[0].id]);
    assert.equal(await deployedSerial(path.join(dir, 'first.test/web-1/first.test.crt')), forced.status.stored?.serial);
  });

  it('keeps deploying to the healthy server when another fails, tracks and notifies it, and recovers it later', async () => {
    const b = await blueprint('partial.test', { more: reporting('partial.test') });
    // A file where the server's folder should be: the deploy to web-1 cannot succeed until it is removed.
    await fs.mkdir(path.join(dir, 'partial.test'), { recursive: true });
    await fs.writeFile(path.join(dir, 'partial.test/web-1'), 'not a folder');
    const failed = await cycle(b);
    assert.equal(failed.status.state, 'Degraded');
    assert.equal(failed.status.lastCycle?.outcome, 'partial');
    assert.deepEqual(failed.status.lastCycle?.deployed, [b.servers[1].id]);
    assert.equal(failed.status.lastCycle?.failed[0].id, b.servers[0].id);
    assert.match(failed.status.lastCycle!.failed[0].error, /web-1/);
    const web1 = failed.status.servers.find((s) => s.id === b.servers[0].id)!;
    assert.equal(web1.state, 'failed');
    assert.ok(Date.parse(failed.status.nextWakeAt!) - Date.now() < 5 * 60_000, 'a failing server is retried soon');

    // The webhook hears of the failure, with the failing server and why.
    const failure = await hook.next((n) => n.certificate === 'partial.test' && n.event === 'failure');
    assert.equal(failure.headers['x-test'], 'partial.test');
    assert.equal(failure.body.workflowId, workflowIdFor(b.name));
    assert.equal(failure.body.state, 'Degraded');
    assert.equal(failure.body.serial, failed.status.stored?.serial);
    const failing = failure.body.servers.find((s) => s.id === b.servers[0].id);
    assert.equal(failing?.state, 'failed');
    assert.equal(failing?.error, failed.status.lastCycle!.failed[0].error);
    assert.match(failure.body.reason, /web-1/);
    assert.deepEqual(failure.body.failed, [{ step: `deployToServer ${b.servers[0].id}`, reasonCode: 'config' }]);
    assert.equal(failed.status.lastCycle!.failed[0].reasonCode, 'config');

    // A folder that is a file is the blueprint's or the machine's to fix: the deploy was tried once, not retried,
    // the failure itself saying so (the retry policy lists no error types) with its reason code.
    const deploysOf = (events: proto.api.history.v1.IHistoryEvent[]) =>
      events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deployToServer');
    let events: proto.api.history.v1.IHistoryEvent[] = [];
    // The run of the failed cycle: it has continued as new since.
    for await (const run of temporal.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(b.name)}'` })) {
      const runEvents = (await temporal.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
      if (deploysOf(runEvents).length) events = runEvents;
    }
    const deploys = deploysOf(events);
    assert.ok(deploys.length === 2 && deploys.every((e) => !e.activityTaskScheduledEventAttributes!.retryPolicy!.nonRetryableErrorTypes?.length));
    const refused = events.find((e) => e.activityTaskFailedEventAttributes)!.activityTaskFailedEventAttributes!;
    assert.equal(refused.retryState, proto.api.enums.v1.RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE);
    const info = refused.failure!.applicationFailureInfo!;
    assert.equal(info.type, 'PluginConfigError');
    assert.equal(info.nonRetryable, true);
    assert.deepEqual(
      info.details!.payloads!.map((p) => defaultPayloadConverter.fromPayload(p)),
      [{ reasonCode: 'config' }],
    );
    const attempt = events.find((e) => String(e.eventId) === String(refused.startedEventId))!.activityTaskStartedEventAttributes!.attempt;
    assert.equal(attempt, 1);

    // The tracking log has a line per step, the CSR and certificate attached, the failure with its reason.
    const lines = await trackingLog('partial.test');
    assert.ok(lines.every((l) => l.workflow_id === workflowIdFor(b.name)));
    assert.deepEqual(
      lines.map((l) => l.step).filter((s) => s !== 'deployed' && s !== 'deploy-failed'),
      ['renewal-requested', 'csr-created', 'certificate-received', 'closed'],
    );
    assert.match(lines.find((l) => l.step === 'csr-created')?.csr ?? '', /BEGIN CERTIFICATE REQUEST/);
    assert.match(lines.find((l) => l.step === 'certificate-received')?.certificate_pem ?? '', /BEGIN CERTIFICATE/);
    const deployFailed = lines.find((l) => l.step === 'deploy-failed');
    assert.ok(deployFailed?.message.includes(b.servers[0].id) && deployFailed.message.includes(failed.status.lastCycle!.failed[0].error));

    await fs.rm(path.join(dir, 'partial.test/web-1'));
    const healed = await cycle(b);
    assert.equal(healed.status.state, 'Ready', healed.status.reason);
    assert.deepEqual(healed.status.lastCycle?.deployed, [b.servers[0].id]);
    assert.equal(healed.status.lastCycle?.renewed, false);
    const success = await hook.next((n) => n.certificate === 'partial.test' && n.event === 'success');
    assert.equal(success.body.state, 'Ready');
    assert.ok(success.body.servers.every((s) => s.state === 'ok'));

    // `autossl history` (the built CLI) tells the story, naming the failing server and the reason.
    const serial = failed.status.stored!.serial;
    const error = failed.status.lastCycle!.failed[0].error;
    const history = await autossl('history', '--tracking-record', workflowIdFor(b.name));
    assert.equal(history.code, 0, history.stderr);
    const text = history.stdout;
    assert.ok(text.includes(`FAILED deploy of ${serial} to ${b.servers[0].id}: ${error}`), text);
    assert.ok(text.includes(`certificate ${serial} deployed to ${b.servers[1].id}`), text);
    assert.match(text, /cycle requested/);
    assert.match(text, /make key and CSR \(renewal: no stored certificate\): new private key stored, CSR made/);
    assert.match(text, new RegExp(`certificate ${serial} received, valid until ${failed.status.stored!.notAfter}`));
    assert.match(text, /cycle 1 closed: partial - renewed .*FAILED /);
    assert.match(text, /notify failure: sent/);
    assert.match(text, /state Degraded/);
    const json = await autossl('history', '-t', workflowIdFor(b.name), '--json');
    const record = JSON.parse(json.stdout) as { workflowId: string; entries: { kind: string; server?: string; error?: string }[] };
    assert.equal(record.workflowId, workflowIdFor(b.name));
    assert.deepEqual(
      record.entries.filter((e) => e.kind === 'failure').map((e) => [e.server, e.error]),
      [[b.servers[0].id, error]],
    );
  });

  it('waits for a manual CA certificate, refuses a wrong one, accepts the right one and deploys it', async () => {
    const b = await blueprint('manual.test', { ca: 'Manual' });
    const waiting = await cycle(b);
    assert.equal(waiting.finished, false);
    assert.equal(waiting.status.state, 'AwaitingCertificate');
    assert.match(waiting.status.pendingCsr ?? '', /BEGIN CERTIFICATE REQUEST/);

    const caKey = await generatePrivateKey({ type: 'ec', curve: 'P-256' });
    const caCert = await createSelfSignedCa({ keyPem: caKey, commonName: 'Commercial CA', validityDays: 365 });
    const handle = temporal.client.workflow.getHandle(workflowIdFor(b.name));

    // Signed for another key: refused, and the workflow keeps waiting.
    const { createCsr } = await import('../../src/x509');
    const otherCsr = await createCsr({
      keyPem: await generatePrivateKey({ type: 'ec', curve: 'P-256' }),
      commonName: 'manual.test',
      domains: ['manual.test', 'alt.manual.test'],
    });
    const wrong = await signCertificate({ csrPem: otherCsr, caKeyPem: caKey, caCertPem: caCert, validityDays: 90 });
    await assert.rejects(handle.executeUpdate(submitUpdate, { args: [{ certificate: wrong }] }), (err: unknown) => {
      assert.ok(err instanceof WorkflowUpdateFailedError);
      assert.match(err.cause?.message ?? '', /does not match the private key/);
      return true;
    });
    assert.equal((await queryStatus(session, workflowIdFor(b.name)))?.state, 'AwaitingCertificate');

    const right = await signCertificate({ csrPem: waiting.status.pendingCsr!, caKeyPem: caKey, caCertPem: caCert, validityDays: 90 });
    const accepted = await handle.executeUpdate(submitUpdate, { args: [{ certificate: right + caCert }] });
    assert.equal(accepted.serial, parseCertificate(right).serial);
    for (let i = 0; i < 100; i++) {
      const s = await queryStatus(session, workflowIdFor(b.name));
      if (s?.state === 'Ready') break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(await deployedSerial(path.join(dir, 'manual.test/web-1/manual.test.crt')), accepted.serial);
  });

  it('manual CA through the CLI: reminders, escalation near expiry, submit refused and accepted, deploy --tracking-record', async () => {
    const name = 'reminded.test';
    const b = await blueprint(name, { ca: 'Manual', more: reporting(name) });
    const id = workflowIdFor(name);
    // The stored certificate, from an earlier order, expires in 3 days: renewal is due and overdue enough to escalate.
    const commercial = await makeCa({ commonName: 'Commercial CA' });
    const old = await issueLeaf(commercial, { domains: [name, `alt.${name}`], issuedAt: daysAgo(87), validityDays: 90 });
    await fs.mkdir(path.join(dir, name, 'storage'), { recursive: true });
    await fs.writeFile(path.join(dir, name, 'storage', `${name}.key`), old.keyPem, { mode: 0o600 });
    await fs.writeFile(path.join(dir, name, 'storage', `${name}.crt`), old.certPem);

    const requestId = await requestCycle(session, b, {}, { reminderIntervalMs: 1500 });
    const waiting = await waitForCycle(session, id, requestId, silent, 60_000);
    assert.equal(waiting.status.state, 'AwaitingCertificate');
    const mine = (event: string) => (n: { certificate: string; event: string }) => n.certificate === name && n.event === event;
    const awaiting = await hook.next(mine('awaiting-certificate'));
    assert.equal(awaiting.body.state, 'AwaitingCertificate');
    assert.match(awaiting.body.reason, /waiting for a person to deliver the certificate from Manual CA/);
    const expiring = await hook.next(mine('expiring'));
    assert.match(expiring.body.reason, /expires on .*in 3 day\(s\) and its renewal still awaits the certificate from Manual CA/);
    const reminder = await hook.next((n) => mine('awaiting-certificate')(n) && /reminder 1\b/.test(n.reason), 20_000);
    assert.match(reminder.body.reason, /still awaited since/);
    assert.match((await queryStatus(session, id))!.reason, /expires on/, 'the escalation shows in status');

    // A certificate for another key: refused with the reason, exit 1; the workflow keeps waiting.
    const wrong = await issueLeaf(commercial, { domains: [name, `alt.${name}`] });
    await fs.writeFile(path.join(dir, 'wrong.pem'), wrong.certPem);
    const refused = await autossl('submit', '--workflow-id', id, '--certificate', path.join(dir, 'wrong.pem'));
    assert.equal(refused.code, 1, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(`${id} refused the certificate: certificate ${parseCertificate(wrong.certPem).serial} does not match the private key`),
    );
    assert.equal((await queryStatus(session, id))?.state, 'AwaitingCertificate');

    // Bad input: exit 2, nothing sent.
    const missing = await autossl('submit', '--workflow-id', id, '--certificate', path.join(dir, 'absent.pem'));
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /absent\.pem: no such file/);
    const nobody = await autossl('submit', '--workflow-id', 'cert:nobody.test', '--certificate', path.join(dir, 'wrong.pem'));
    assert.equal(nobody.code, 2);
    assert.match(nobody.stderr, /no workflow cert:nobody\.test/);

    // AutoSSL's way: deploy --tracking-record ID --certificate F delivers it; accepted, stored and deployed.
    const pending = (await queryStatus(session, id))!.pendingCsr!;
    const right = await signCertificate({ csrPem: pending, caKeyPem: commercial.keyPem, caCertPem: commercial.certPem, validityDays: 90 });
    await fs.writeFile(path.join(dir, 'right.pem'), right + commercial.certPem);
    const accepted = await autossl('deploy', '--tracking-record', id, '--certificate', path.join(dir, 'right.pem'));
    assert.equal(accepted.code, 0, accepted.stderr);
    const serial = parseCertificate(right).serial;
    assert.match(accepted.stdout, new RegExp(`${id}: accepted certificate ${serial}, valid until `));
    const success = await hook.next(mine('success'));
    assert.equal(success.body.serial, serial);
    assert.equal(await deployedSerial(path.join(dir, name, 'web-1', `${name}.crt`)), serial);

    // And `submit --blueprint`, after a forced renewal: exit 0 with the serial.
    const forced = await waitForCycle(session, id, await requestCycle(session, b, { force: true }), silent, 60_000);
    assert.equal(forced.status.state, 'AwaitingCertificate');
    const next = await signCertificate({
      csrPem: forced.status.pendingCsr!,
      caKeyPem: commercial.keyPem,
      caCertPem: commercial.certPem,
      validityDays: 90,
    });
    await fs.writeFile(path.join(dir, 'next.pem'), next + commercial.certPem);
    const submitted = await autossl('submit', '--blueprint', path.join(dir, `${name}.yaml`), '--certificate', path.join(dir, 'next.pem'));
    assert.equal(submitted.code, 0, submitted.stderr);
    assert.match(submitted.stdout, new RegExp(`accepted certificate ${parseCertificate(next).serial}`));
    // Too late: nothing is awaited any more, so a second delivery is refused.
    const again = await autossl('submit', '--workflow-id', id, '--certificate', path.join(dir, 'next.pem'));
    assert.equal(again.code, 1);
    assert.match(again.stderr, /is not awaiting a certificate/);

    const steps = (await trackingLog(name)).map((l) => l.step);
    for (const step of ['renewal-requested', 'csr-created', 'awaiting-certificate', 'reminder', 'certificate-received', 'deployed', 'closed']) {
      assert.ok(steps.includes(step), `${step} in ${steps.join(', ')}`);
    }
  });

  it('never records a private key in workflow history', async () => {
    let all = '';
    for (const name of RECORDED) {
      for await (const wf of temporal.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(name)}'` })) {
        const history = await temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
        const text = everyString(history);
        assert.doesNotMatch(text, /PRIVATE KEY/, `${name} run ${wf.runId}`);
        all += text;
      }
    }
    // Proves the payloads were decoded: certificates and CSRs are public and do appear.
    assert.match(all, /BEGIN CERTIFICATE REQUEST/);
  });
});
