// The Temporal Web UI as a person sees it: a dev server with its UI, a certificate lifecycle with one failing
// server, and a real headless Chromium (Debian `chromium`, driven by playwright-core, which downloads nothing)
// reading the workflow list, the search attributes, the current details, the summary and the history.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { loadBlueprints } from '../../src/catalog';
import { requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { startDevServer, type DevServer } from '../../src/worker/dev-server';
import { bundleWorkflows, createWorker } from '../../src/worker/worker';
import { workflowIdFor } from '../../src/workflows/definitions';
import { systemBinary } from '../helpers/system-binary';
import { temporalBinary } from '../helpers/temporal';

const NAME = 'ui.example.test';
const WORKFLOW_ID = workflowIdFor(NAME);
// Quiet and offline: no sandbox (root in CI), no GPU, nothing fetched from the network but the UI under test.
const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

describe('Temporal Web UI in headless Chromium', () => {
  let dir: string;
  let server: DevServer;
  let connection: Connection;
  let nativeConnection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let browser: BrowserContext;
  let page: Page;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-web-ui-'));
    // Missing Chromium fails the test: the UI is part of what autossl delivers.
    const executablePath = await systemBinary('chromium', 'chromium');
    server = await startDevServer({ dataDir: path.join(dir, 'temporal'), ui: true, cli: await temporalBinary('cli') });
    connection = await Connection.connect({ address: server.address });
    nativeConnection = await NativeConnection.connect({ address: server.address });
    const taskQueue = 'web-ui-test';
    worker = await createWorker({
      connection: nativeConnection,
      namespace: server.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflows(),
      env: { staging: false, credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, env: {} }) },
    });
    running = worker.run();
    browser = await chromium.launchPersistentContext(path.join(dir, 'chromium-profile'), {
      executablePath,
      headless: true,
      args: CHROMIUM_FLAGS,
      viewport: { width: 1400, height: 1000 },
    });
    page = browser.pages()[0] ?? (await browser.newPage());

    // web-1's folder is a file: one server fails, so the state and the per-server table have something to say.
    await fs.mkdir(path.join(dir, 'site'), { recursive: true });
    await fs.writeFile(path.join(dir, 'site', 'web-1'), 'not a folder');
    const file = path.join(dir, `${NAME}.yaml`);
    await fs.writeFile(
      file,
      `name: ${NAME}
servers:
  - { type: local, parameters: { path: '${dir}/site/web-1' } }
  - { type: local, parameters: { path: '${dir}/site/web-2' } }
certificate: { type: DV, certificate_authority: Local, common_name: ${NAME} }
certificate_authorities:
  - name: Local test CA
    key: Local
    type: local-ca
    storage: { type: local, parameters: { path: '${dir}/ca' } }
    parameters: { ca_private_key: ca, ca_certificate: ca, create_if_missing: true }
storage: { type: local, parameters: { path: '${dir}/storage' } }
`,
    );
    const [blueprint] = await loadBlueprints({ blueprint: file });
    const client = new Client({ connection, namespace: server.namespace });
    const session: Session = { client, address: server.address, namespace: server.namespace, taskQueue, close: async () => {} };
    const { status } = await waitForCycle(session, WORKFLOW_ID, await requestCycle(session, blueprint, {}), { out() {}, err() {} }, 60_000);
    assert.equal(status.state, 'Degraded', status.reason);
  });

  after(async () => {
    await browser?.close();
    worker?.shutdown();
    await running;
    await nativeConnection?.close();
    await connection?.close();
    await server?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const workflowUrl = (runId?: string) =>
    `${server.uiUrl}/namespaces/${server.namespace}/workflows/${encodeURIComponent(WORKFLOW_ID)}${runId ? `/${runId}` : ''}`;

  /** Opens a tab of the workflow page and returns the text of the main area once `expected` shows in it. */
  async function tab(name: string, expected: string | RegExp): Promise<string> {
    await page
      .getByRole('link', { name, exact: true })
      .or(page.getByRole('tab', { name, exact: true }))
      .first()
      .click();
    await page.locator('main').getByText(expected).first().waitFor({ timeout: 20_000 });
    return page.locator('main').innerText();
  }

  /** Text of the User Metadata tab matching `expected`: the UI draws each markdown block in a frame of its own. */
  async function userMetadata(expected: RegExp): Promise<string> {
    await tab('User Metadata', 'Current Details');
    const deadline = Date.now() + 20_000;
    for (;;) {
      for (const frame of page.frames()) {
        const text = await frame
          .locator('body')
          .innerText()
          .catch(() => '');
        if (expected.test(text)) return text;
      }
      if (Date.now() > deadline) throw new Error(`no current details matching ${expected} in the page`);
      await page.waitForTimeout(250);
    }
  }

  it('lists the certificate workflow by its state, shows its search attributes, details, summary and history', async (t) => {
    // The list, filtered on the state search attribute, holds the certificate workflow.
    const query = encodeURIComponent(`AutosslCertificate = "${NAME}" AND AutosslState = "Degraded" AND ExecutionStatus = "Running"`);
    await page.goto(`${server.uiUrl}/namespaces/${server.namespace}/workflows?query=${query}`);
    await page.locator('main').getByText(WORKFLOW_ID).first().waitFor({ timeout: 30_000 });

    // The running workflow: its search attributes name the certificate, its state and its expiry.
    await page.goto(workflowUrl());
    const attributes = await tab('Search Attributes', 'AutosslState');
    assert.match(attributes, /"AutosslState": "Degraded"/);
    assert.match(attributes, new RegExp(`"AutosslCertificate": "${NAME.replace(/\./g, '\\.')}"`));
    assert.match(attributes, /"AutosslExpiry": "\d{4}-\d\d-\d\dT/);

    // Current details: the state line and the per-server table, the failing server with its reason.
    const details = await userMetadata(/: Degraded/);
    assert.match(details, new RegExp(`${NAME.replace(/\./g, '\\.')}: Degraded`));
    assert.match(details, /web-1[\s\S]*failed[\s\S]*a file stands where a folder is expected/);
    assert.match(details, /web-2\s+ok/);
    const shot = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-web-ui-shot-')), 'workflow.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.diagnostic(`screenshot: ${shot}`);
    console.log(`web UI screenshot: ${shot}`);
    assert.ok((await fs.stat(shot)).size > 10_000, 'a real screenshot');

    // The first run was started by the CLI with a summary line; its history reads like the process.
    const client = new Client({ connection, namespace: server.namespace });
    const runs = [];
    for await (const wf of client.workflow.list({ query: `WorkflowId = '${WORKFLOW_ID}'` })) runs.push(wf);
    const first = runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime())[0];
    await page.goto(workflowUrl(first.runId));
    await userMetadata(new RegExp(`certificate ${NAME.replace(/\./g, '\\.')}: ${NAME.replace(/\./g, '\\.')}`));
    await page.goto(`${workflowUrl(first.runId)}/history`);
    const history = page.locator('main');
    for (const step of [
      'inspect storage and servers',
      'make key and CSR (renewal: no stored certificate)',
      'order certificate from Local test CA',
      'deploy to local:',
    ]) {
      await history.getByText(step).first().waitFor({ timeout: 20_000 });
    }
  });
});
