// The `notify` section (blueprint and global config) and the two reporting activities' work: the webhook and
// command notifiers, and the LocalFileTracking JSON-lines log.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { NotificationFailed, sendNotification, writeTrackingLine } from '../../src/activities/report';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { BlueprintError } from '../../src/blueprint/errors';
import { loadBlueprints } from '../../src/catalog';
import type { ArtifactKind, Blueprint } from '../../src/blueprint/types';
import type { PluginEnvironment } from '../../src/catalog/open';
import { freePort } from '../../src/worker/dev-server';
import type { NotifyEvent } from '../../src/workflows/definitions';
import { makeTempDir, writeBlueprint } from '../helpers/pki';
import { startWebhook, type Webhook } from '../helpers/webhook';

const BASE = `name: site.test
certificate: { type: DV, certificate_authority: Manual, common_name: site.test }
certificate_authorities: [{ key: Manual }]
`;

const EVENT: NotifyEvent = {
  event: 'failure',
  state: 'Degraded',
  reason: 'web-1: disk full',
  serial: '0A1B',
  notAfter: '2027-01-01T00:00:00.000Z',
  servers: [{ id: 'local:/srv/web-1', label: 'local:/srv/web-1', state: 'failed', error: 'disk full' }],
  at: '2026-11-27T00:00:00.000Z',
};

describe('notify section', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('autossl-notify-');
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const load = async (text: string, config?: string) =>
    loadBlueprints({
      blueprint: await writeBlueprint(dir, text),
      ...(config !== undefined && { config: await writeBlueprint(dir, config, 'config.yaml') }),
      env: {},
    });

  it('reads a webhook and a command line, with every event and a daily reminder by default', async () => {
    const [b] = await load(`${BASE}notify:
  webhook: { url: 'https://hooks.example.test/\${HOOK_TOKEN}', headers: { Authorization: 'Bearer \${API_TOKEN}' } }
  command: notify-send "certificate"
`);
    assert.deepEqual(b.notify, {
      // ${VAR}s stay as written: the worker expands them, so tokens never travel in workflow history.
      webhook: { url: 'https://hooks.example.test/${HOOK_TOKEN}', headers: { Authorization: 'Bearer ${API_TOKEN}' } },
      command: ['sh', '-c', 'notify-send "certificate"'],
      events: ['success', 'failure', 'awaiting-certificate', 'expiring'],
      reminderIntervalHours: 24,
    });
  });

  it('takes the global config section, an argument list, chosen events and interval', async () => {
    const [b] = await load(
      BASE,
      `notify:
  command: [page-oncall, --team, pki]
  events: [failure, expiring]
  reminder_interval_hours: 4
`,
    );
    assert.deepEqual(b.notify, { command: ['page-oncall', '--team', 'pki'], events: ['failure', 'expiring'], reminderIntervalHours: 4 });
  });

  it('reports every mistake with its line', async () => {
    const err = await load(`${BASE}notify:
  webhook: { url: 'ftp://x', headers: { 'bad header': x, X-List: [a] } }
  events: [sucess]
  reminder_interval_hours: 0
  command: []
`).then(
      () => assert.fail('loaded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BlueprintError);
    const lines = err.issues.map((i) => `${i.line}: ${i.message}`);
    for (const expected of [
      /^5: notify\.webhook\.url must be an http\(s\) URL/,
      /^5: notify\.webhook\.headers: 'bad header' is not a valid header name/,
      /^5: notify\.webhook\.headers\.X-List must be text, not a list/,
      /^6: notify\.events\[0\] is 'sucess'; expect one of success, failure, awaiting-certificate, expiring.*success/,
      /^7: notify\.reminder_interval_hours must be 1 or more/,
      /^8: notify\.command must be a command line or a non-empty list of arguments/,
    ]) {
      assert.ok(
        lines.some((l) => expected.test(l)),
        `${expected} in\n${lines.join('\n')}`,
      );
    }
    await assert.rejects(load(`${BASE}notify: { events: [failure] }\n`), /4:9: notify needs a webhook or a command/);
  });
});

describe('notifiers and tracking log', () => {
  let dir: string;
  let hook: Webhook;
  before(async () => {
    dir = await makeTempDir('autossl-report-');
    hook = await startWebhook();
  });
  after(async () => {
    await hook.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const blueprint = (extra: Partial<Blueprint>): Blueprint =>
    ({ name: 'site.test', servers: [], certificateAuthorities: [], credentials: {}, ...extra }) as unknown as Blueprint;

  it('POSTs the event as JSON with worker-side ${VAR}s, and runs the command with it on stdin', async () => {
    const out = path.join(dir, 'command.out');
    const b = blueprint({
      notify: {
        webhook: { url: `${hook.url}?t=\${HOOK_TOKEN}`, headers: { 'X-Token': '${HOOK_TOKEN}' } },
        command: ['sh', '-c', `{ printf '%s ' "$AUTOSSL_EVENT"; cat; } > '${out}'`],
        events: ['failure'],
        reminderIntervalHours: 24,
      },
    });
    await sendNotification(b, EVENT, 'cert:site.test', { ...process.env, HOOK_TOKEN: 's3cret' });
    const [{ body, headers }] = hook.received;
    const expected = {
      certificate: 'site.test',
      event: 'failure',
      state: 'Degraded',
      reason: 'web-1: disk full',
      serial: '0A1B',
      notAfter: EVENT.notAfter,
      servers: EVENT.servers,
      workflowId: 'cert:site.test',
      at: EVENT.at,
    };
    assert.deepEqual(body, expected);
    assert.equal(headers['x-token'], 's3cret');
    assert.equal(headers['content-type'], 'application/json');
    const written = await fs.readFile(out, 'utf8');
    assert.ok(written.startsWith('failure '));
    assert.deepEqual(JSON.parse(written.slice('failure '.length)), expected);

    // An event the section did not ask for goes nowhere.
    await sendNotification(b, { ...EVENT, event: 'success' }, 'cert:site.test', { HOOK_TOKEN: 's3cret' });
    assert.equal(hook.received.length, 1);
  });

  it('expands $VAR without braces as well, as AutoSSL does for paths', async () => {
    const b = blueprint({
      notify: {
        webhook: { url: `${hook.url}?t=$HOOK_TOKEN`, headers: { 'X-Token': 'token $HOOK_TOKEN, $1 kept' } },
        events: ['failure'],
        reminderIntervalHours: 24,
      },
    });
    const before = hook.received.length;
    await sendNotification(b, EVENT, 'cert:site.test', { HOOK_TOKEN: 's3cret' });
    assert.equal(hook.received.length, before + 1);
    assert.equal(hook.received.at(-1)!.headers['x-token'], 'token s3cret, $1 kept');
    await assert.rejects(sendNotification(b, EVENT, 'cert:site.test', {}), /uses \$HOOK_TOKEN but HOOK_TOKEN is not set on the worker/);
  });

  it('fails with what went wrong, never with the expanded secret', async () => {
    // Nobody listens on a port just found free.
    const port = await freePort();
    const refused = blueprint({
      notify: {
        webhook: { url: `http://127.0.0.1:${port}/\${HOOK_TOKEN}`, headers: {} },
        command: ['false'],
        events: ['failure'],
        reminderIntervalHours: 24,
      },
    });
    const err = await sendNotification(refused, EVENT, 'cert:site.test', { ...process.env, HOOK_TOKEN: 's3cret' }).then(
      () => assert.fail('sent'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof NotificationFailed);
    assert.ok(err.message.endsWith(`webhook http://127.0.0.1:${port}/\${HOOK_TOKEN}: ECONNREFUSED; command false exited with 1`), err.message);
    assert.doesNotMatch(err.message, /s3cret/);
    await assert.rejects(sendNotification(refused, EVENT, 'cert:site.test', {}), /uses \$\{HOOK_TOKEN\} but HOOK_TOKEN is not set on the worker/);
  });

  const plugins: PluginEnvironment = { staging: false, credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, env: {} }) };

  it('appends one JSON line per step, attaching the CSR and certificate only as data: says', async () => {
    const folder = path.join(dir, 'logs');
    const tracking = (data: ArtifactKind[]) =>
      blueprint({ tracking: { type: 'local', declaredType: 'local', parameters: { log_folder: folder }, data } });
    const csr = '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n';
    await writeTrackingLine(tracking(['csr', 'crt']), { step: 'csr-created', message: 'CSR made', at: EVENT.at, csr }, 'cert:site.test', plugins);
    await writeTrackingLine(tracking(['crt']), { step: 'csr-created', message: 'CSR made', at: EVENT.at, csr }, 'cert:site.test', plugins);
    const lines = (await fs.readFile(path.join(folder, 'site.test.log'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(lines, [
      { time: EVENT.at, workflow_id: 'cert:site.test', certificate: 'site.test', step: 'csr-created', message: 'CSR made', csr },
      { time: EVENT.at, workflow_id: 'cert:site.test', certificate: 'site.test', step: 'csr-created', message: 'CSR made' },
    ]);
    await assert.rejects(
      writeTrackingLine(tracking(['csr']), { step: 'closed', message: '-----BEGIN PRIVATE KEY-----', at: EVENT.at }, 'cert:site.test', plugins),
      /refusing to write key material/,
    );
  });
});
