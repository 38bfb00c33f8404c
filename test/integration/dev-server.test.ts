import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { freePort, startDevServer } from '../../src/worker/dev-server';
import { resolveTemporalBinary } from '../../src/worker/temporal-binary';
import {
  CERTIFICATE_DOMAINS,
  CERTIFICATE_EXPIRY,
  CERTIFICATE_NAME,
  CERTIFICATE_STATE,
  SEARCH_ATTRIBUTES,
} from '../../src/workflows/search-attributes';
import { runCli } from '../helpers/cli';
import { startTestDevServer, startTimeSkipping, type TestDevServer, temporalBinary } from '../helpers/temporal';

let scratch: string;
before(async () => {
  scratch = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-dev-server-test-'));
});
after(async () => {
  await fs.rm(scratch, { recursive: true, force: true });
});

async function registeredTypes(temporal: TestDevServer) {
  const { customAttributes } = await temporal.connection.operatorService.listSearchAttributes({
    namespace: temporal.namespace,
  });
  return customAttributes ?? {};
}

/** From the typed keys the workflows use, so a drift between them and SEARCH_ATTRIBUTES shows up here. */
function expectedTypes() {
  const keys = [CERTIFICATE_NAME, CERTIFICATE_DOMAINS, CERTIFICATE_EXPIRY, CERTIFICATE_STATE];
  return Object.fromEntries(keys.map((key) => [key.name, encodeSearchAttributeIndexedValueType(key.type)]));
}

test('resolveTemporalBinary: an explicit env var wins, a wrong one is an error, nothing found is null', async () => {
  const cli = await temporalBinary('cli');
  assert.deepEqual(await resolveTemporalBinary('cli', { dataDir: scratch, env: { AUTOSSL_TEMPORAL_CLI: cli } }), {
    path: cli,
    source: 'env',
  });

  const impostor = path.join(scratch, 'not-temporal');
  await fs.writeFile(impostor, '#!/bin/sh\necho hello\n', { mode: 0o755 });
  await assert.rejects(
    resolveTemporalBinary('cli', { dataDir: scratch, env: { AUTOSSL_TEMPORAL_CLI: impostor } }),
    /AUTOSSL_TEMPORAL_CLI=.*not-temporal is not a usable temporal: unexpected output: hello/,
  );

  assert.equal(await resolveTemporalBinary('test-server', { dataDir: scratch, env: { PATH: '' }, install: false }), null);
});

test('dev server: search attributes registered; workflows and attributes survive a restart on the same SQLite file', async () => {
  const dataDir = path.join(scratch, 'restart');
  const startedAt = Date.now();
  const first = await startTestDevServer({ dataDir });
  const startMs = Date.now() - startedAt;
  try {
    assert.ok(startMs < 15_000, `dev server took ${startMs} ms to start`);
    assert.deepEqual(pick(await registeredTypes(first), Object.keys(SEARCH_ATTRIBUTES)), expectedTypes());

    // No worker: the workflow stays RUNNING with its first task pending, which is all persistence needs.
    await first.client.workflow.start('autosslFixture', {
      workflowId: 'cert:example',
      taskQueue: 'autossl-test-no-worker',
      typedSearchAttributes: [
        { key: CERTIFICATE_NAME, value: 'example' },
        { key: CERTIFICATE_DOMAINS, value: ['example.test', 'www.example.test'] },
      ],
    });
    // A data file from an older autossl lacks attributes added since; the next start must add them.
    await first.connection.operatorService.removeSearchAttributes({
      namespace: first.namespace,
      searchAttributes: ['AutosslState'],
    });
  } finally {
    await first.stop();
  }

  const second = await startTestDevServer({ dataDir });
  try {
    assert.deepEqual(pick(await registeredTypes(second), Object.keys(SEARCH_ATTRIBUTES)), expectedTypes());
    const description = await second.client.workflow.getHandle('cert:example').describe();
    assert.equal(description.status.name, 'RUNNING');
    assert.equal(description.typedSearchAttributes.get(CERTIFICATE_NAME), 'example');
    assert.deepEqual(description.typedSearchAttributes.get(CERTIFICATE_DOMAINS), ['example.test', 'www.example.test']);
    assert.deepEqual(await listIds(second, `AutosslCertificate = "example"`), ['cert:example']);
  } finally {
    await second.stop();
  }
});

test('dev server: a port already in use fails with the server output in the message', async () => {
  // Drops whatever connects, so no half-open probe keeps this process alive afterwards.
  const blocker = net.createServer((socket) => socket.destroy());
  const port = await freePort();
  await new Promise<void>((resolve) => blocker.listen(port, '127.0.0.1', resolve));
  try {
    await assert.rejects(
      startDevServer({ dataDir: path.join(scratch, 'clash'), port, ui: false, cli: await temporalBinary('cli') }),
      (err: Error) => {
        assert.match(err.message, /temporal dev server .* exited with \d+ before it was ready/);
        assert.match(err.message, /address already in use/);
        return true;
      },
    );
  } finally {
    blocker.close();
  }
});

test('time-skipping server: a day passes at once', async () => {
  const env = await startTimeSkipping();
  try {
    const before = await env.currentTimeMs();
    await env.sleep('1 day');
    assert.ok((await env.currentTimeMs()) - before >= 86_400_000);
  } finally {
    await env.teardown();
  }
});

test('docker-compose init job creates exactly the search attributes autossl defines', async () => {
  const script = await fs.readFile(path.resolve(__dirname, '..', '..', '..', 'deploy', 'temporal', 'init.sh'), 'utf8');
  const created = Object.fromEntries([...script.matchAll(/--name (\w+) --type (\w+)/g)].map((m) => [m[1], m[2]]));
  assert.deepEqual(created, SEARCH_ATTRIBUTES);
});

function pick<T>(record: Record<string, T>, keys: string[]): Record<string, T> {
  return Object.fromEntries(keys.filter((k) => k in record).map((k) => [k, record[k]]));
}

/** Visibility is eventually consistent, even on SQLite: poll briefly. */
async function listIds(temporal: TestDevServer, query: string): Promise<string[]> {
  for (let tries = 0; ; tries++) {
    const ids: string[] = [];
    for await (const execution of temporal.client.workflow.list({ query })) ids.push(execution.workflowId);
    if (ids.length > 0 || tries >= 50) return ids;
    await sleep(100);
  }
}

test('without a worker: renew says why nothing moves and exits 1 at --timeout, status says Unanswered at once', async () => {
  const temporal = await startTestDevServer();
  try {
    const file = path.join(scratch, 'idle.test.yaml');
    await fs.writeFile(
      file,
      [
        'name: idle.test',
        `servers: [{ type: local, parameters: { path: ${JSON.stringify(path.join(scratch, 'idle-web'))} } }]`,
        'certificate: { type: DV, certificate_authority: Vendor, common_name: idle.test }',
        'certificate_authorities: [{ name: Commercial vendor, key: Vendor }]',
        '',
      ].join('\n'),
    );
    const target = ['--address', temporal.address, '--task-queue', 'nobody-here'];
    const renewed = await runCli(['--blueprint', file, 'renew', '--yes', '--timeout', '2', ...target]);
    assert.equal(renewed.code, 1, renewed.stderr);
    assert.match(renewed.stderr, /waiting: cert:idle\.test did not answer within \d+ s: no worker polls task queue 'nobody-here'/);
    assert.match(renewed.stdout, /cert:idle\.test: not finished after 2 s; the request stays queued, follow it with 'autossl status'/);

    // The reason is the one status gives without querying: a query would have waited for its timeout first.
    const status = await runCli(['--blueprint', file, 'status', '--json', ...target]);
    assert.equal(status.code, 1, status.stderr);
    const [entry] = JSON.parse(status.stdout) as { workflowId: string; state: string; reason: string }[];
    assert.deepEqual(entry, {
      workflowId: 'cert:idle.test',
      state: 'Unanswered',
      reason: "no worker polls task queue 'nobody-here': start one with 'autossl worker' (or 'autossl server')",
      retrying: [],
    });
  } finally {
    await temporal.stop();
  }
});
