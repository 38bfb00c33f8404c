// Crashes in the middle of a renewal: the worker killed with SIGKILL after the new key is stored, and the Temporal
// dev server restarted on the same SQLite file. A new worker takes over and nothing is lost.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadBlueprints } from '../../src/blueprint/load';
import { queryStatus, requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { workflowIdFor } from '../../src/workflows/definitions';
import { keyMatchesCertificate, parseCertificate, signCertificate } from '../../src/x509';
import { BIN, REPO, runCli } from '../helpers/cli';
import { makeCa, makeTempDir } from '../helpers/pki';
import { startTestDevServer, type TestDevServer } from '../helpers/temporal';

const taskQueue = 'crash-test';
const silent = { out() {}, err() {} };

/** `autossl worker` as its own process, so it can be killed like a real one. */
function startWorker(address: string): ChildProcess {
  return spawn(process.execPath, [BIN, 'worker', '--address', address, '--task-queue', taskQueue], { cwd: REPO, stdio: 'ignore' });
}

async function kill9(worker: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGKILL');
  await exited;
}

describe('crashes in the middle of a renewal', () => {
  let dir: string;
  let dataDir: string;
  let temporal: TestDevServer | undefined;
  let worker: ChildProcess | undefined;

  after(async () => {
    if (worker && worker.exitCode === null) await kill9(worker);
    await temporal?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  const sessionOf = (t: TestDevServer): Session => ({ client: t.client, address: t.address, namespace: t.namespace, taskQueue, close: async () => {} });

  it('survives a killed worker and a restarted Temporal server while a manual-CA certificate is awaited', async () => {
    dir = await makeTempDir('autossl-crash-');
    dataDir = path.join(dir, 'temporal');
    await fs.mkdir(dataDir);
    const file = path.join(dir, 'crash.test.yaml');
    await fs.writeFile(
      file,
      `name: crash.test
servers:
  - { type: local, parameters: { path: ${dir}/web-1 } }
  - { type: local, parameters: { path: ${dir}/web-2 } }
certificate: { type: DV, certificate_authority: Vendor, common_name: crash.test }
certificate_authorities: [{ name: Commercial vendor, key: Vendor }]
storage: { type: local, parameters: { path: ${dir}/storage } }
`,
    );
    const [blueprint] = await loadBlueprints({ blueprint: file });
    const workflowId = workflowIdFor(blueprint.name);

    temporal = await startTestDevServer({ dataDir });
    worker = startWorker(temporal.address);
    const waiting = await waitForCycle(sessionOf(temporal), workflowId, await requestCycle(sessionOf(temporal), blueprint, {}), silent, 60_000);
    assert.equal(waiting.status.state, 'AwaitingCertificate');
    const pendingKey = await fs.readFile(path.join(dir, 'storage/crash.test.pending.key'), 'utf8');

    // The worker dies with the key stored and the CSR out; then the Temporal server goes down and comes back.
    await kill9(worker);
    await temporal.stop();
    temporal = await startTestDevServer({ dataDir });
    worker = startWorker(temporal.address);
    assert.equal((await queryStatus(sessionOf(temporal), workflowId))?.state, 'AwaitingCertificate');

    const vendor = await makeCa({ commonName: 'Commercial vendor CA' });
    const issued = await signCertificate({ csrPem: waiting.status.pendingCsr!, caKeyPem: vendor.keyPem, caCertPem: vendor.certPem, validityDays: 90 });
    const certFile = path.join(dir, 'issued.pem');
    await fs.writeFile(certFile, issued + vendor.certPem);
    const submitted = await runCli(['--blueprint', file, 'submit', '--certificate', certFile, '--address', temporal.address]);
    assert.equal(submitted.code, 0, submitted.stderr);

    let state = '';
    for (let i = 0; i < 150 && state !== 'Ready'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      state = (await queryStatus(sessionOf(temporal), workflowId))?.state ?? '';
    }
    assert.equal(state, 'Ready');
    const serial = parseCertificate(issued).serial;
    for (const server of ['web-1', 'web-2']) {
      const deployed = await fs.readFile(path.join(dir, server, 'crash.test.crt'), 'utf8');
      assert.equal(parseCertificate(deployed).serial, serial, server);
      assert.ok(keyMatchesCertificate(await fs.readFile(path.join(dir, server, 'crash.test.key'), 'utf8'), deployed), server);
    }
    // The key made before the crash is the one in use, and no second copy of it is left behind.
    assert.equal(await fs.readFile(path.join(dir, 'storage/crash.test.key'), 'utf8'), pendingKey);
    await assert.rejects(fs.access(path.join(dir, 'storage/crash.test.pending.key')));
  });
});
