// Crashes in the middle of a renewal: the worker killed with SIGKILL after the new key is stored (and the Temporal
// dev server restarted on the same SQLite file), while an ACME order is pending, and between two server deploys.
// A new worker takes over: the certificate ends deployed everywhere, each server written once with the final
// pair, no challenge file left behind, no key lost.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { loadBlueprints } from '../../src/catalog';
import { queryStatus, requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { workflowIdFor } from '../../src/workflows/definitions';
import { keyMatchesCertificate, parseCertificate, signCertificate } from '../../src/x509';
import { BIN, REPO, runCli } from '../helpers/cli';
import { serveAcmeDirs, startPebble } from '../helpers/pebble';
import { makeCa, makeTempDir } from '../helpers/pki';
import { startSshd } from '../helpers/sshd';
import { startTestDevServer, type TestDevServer } from '../helpers/temporal';
import { eventually, until as waitUntil } from '../helpers/wait';

const taskQueue = 'crash-test';
const silent = { out() {}, err() {} };

/** What the workers printed, for assertion messages. */
let workerLog = '';

/** `autossl worker` as its own process, so it can be killed like a real one. */
function startWorker(address: string): ChildProcess {
  const child = spawn(process.execPath, [BIN, 'worker', '--address', address, '--task-queue', taskQueue], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (workerLog += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (workerLog += d.toString()));
  return child;
}

async function kill9(worker: ChildProcess): Promise<void> {
  if (worker.exitCode !== null || worker.signalCode !== null) return;
  const exited = new Promise((resolve) => worker.once('exit', resolve));
  worker.kill('SIGKILL');
  await exited;
}

/** Polls until `ready` holds; the deadline covers a heartbeat timeout and a new worker's start. */
const until = (what: string, ready: () => Promise<boolean> | boolean) => waitUntil(what, ready, 45_000);

/** Files in `dirs`, without the hidden temporary names of a write in progress. */
async function filesIn(dirs: string[]): Promise<string[]> {
  const lists = await Promise.all(dirs.map((d) => fs.readdir(d).catch(() => [])));
  return lists.flat().filter((f) => !f.startsWith('.'));
}

/** Each server folder holds the stored pair: the certificate of `serial` and the very key in storage. */
async function assertDeployedEverywhere(folders: string[], name: string, storage: string, serial: string | undefined): Promise<void> {
  const storedKey = await fs.readFile(path.join(storage, `${name}.key`), 'utf8');
  for (const folder of folders) {
    const deployed = await fs.readFile(path.join(folder, `${name}.crt`), 'utf8');
    assert.equal(parseCertificate(deployed).serial, serial, folder);
    const key = await fs.readFile(path.join(folder, `${name}.key`), 'utf8');
    assert.ok(keyMatchesCertificate(key, deployed), folder);
    assert.equal(key, storedKey, `${folder} holds the stored key`);
  }
  assert.deepEqual(
    (await fs.readdir(storage)).filter((f) => f.includes('.pending')),
    [],
    'no pending key or CSR left in storage',
  );
}

describe('crashes in the middle of a renewal', () => {
  let dir: string;
  let dataDir: string;
  let temporal: TestDevServer | undefined;
  let worker: ChildProcess | undefined;
  const closers: (() => Promise<unknown>)[] = [];

  after(async () => {
    if (worker) await kill9(worker);
    await temporal?.stop();
    for (const close of closers.reverse()) await close();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** A folder for one test, removed at the end. */
  async function tempDir(prefix: string): Promise<string> {
    const made = await makeTempDir(prefix);
    closers.push(() => fs.rm(made, { recursive: true, force: true }));
    return made;
  }

  /** Each case starts with the dev server up (the first one leaves it restarted) and no worker but its own. */
  async function freshWorker(): Promise<TestDevServer> {
    temporal ??= await startTestDevServer();
    if (worker) await kill9(worker);
    worker = startWorker(temporal.address);
    return temporal;
  }

  const sessionOf = (t: TestDevServer): Session => ({
    client: t.client,
    address: t.address,
    namespace: t.namespace,
    taskQueue,
    close: async () => {},
  });

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
    // Nothing runs the workflow now: status says so at once instead of waiting on a query nobody answers.
    const unanswered = await runCli(['--blueprint', file, 'status', '--address', temporal.address, '--task-queue', taskQueue]);
    assert.equal(unanswered.code, 1, unanswered.stderr);
    assert.match(unanswered.stdout, /cert:crash\.test +Unanswered .*no worker polls task queue 'crash-test': start one with 'autossl worker'/);
    worker = startWorker(temporal.address);
    assert.equal((await queryStatus(sessionOf(temporal), workflowId))?.state, 'AwaitingCertificate');

    const vendor = await makeCa({ commonName: 'Commercial vendor CA' });
    const issued = await signCertificate({
      csrPem: waiting.status.pendingCsr!,
      caKeyPem: vendor.keyPem,
      caCertPem: vendor.certPem,
      validityDays: 90,
    });
    const certFile = path.join(dir, 'issued.pem');
    await fs.writeFile(certFile, issued + vendor.certPem);
    const submitted = await runCli(['--blueprint', file, 'submit', '--certificate', certFile, '--address', temporal.address]);
    assert.equal(submitted.code, 0, submitted.stderr);

    await eventually('the delivered certificate deployed', 30_000, async () =>
      assert.equal((await queryStatus(sessionOf(temporal!), workflowId))?.state, 'Ready'),
    );
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

  it('completes an ACME renewal whose order was pending when the worker was killed, leaving no challenge file', async () => {
    const base = await tempDir('autossl-crash-acme-');
    const name = 'pending.crash.test';
    const webs = [path.join(base, 'web-1'), path.join(base, 'web-2')];
    const acmeDirs = [path.join(base, 'acme-1'), path.join(base, 'acme-2')];
    await Promise.all(acmeDirs.map((d) => fs.mkdir(d)));
    const pebble = await startPebble();
    closers.push(() => pebble.stop());
    // Pebble's validation requests hang until released: the order stays pending, the challenge files in place.
    const web = await serveAcmeDirs(pebble.httpPort, acmeDirs, { hold: true });
    closers.push(() => web.close());
    const file = path.join(base, `${name}.yaml`);
    await fs.writeFile(
      file,
      `name: ${name}
servers:
  - { type: local, parameters: { path: ${webs[0]}, acme_dir: ${acmeDirs[0]} } }
  - { type: local, parameters: { path: ${webs[1]}, acme_dir: ${acmeDirs[1]} } }
certificate: { type: DV, certificate_authority: Pebble, common_name: ${name}, san: [www.${name}], private_key_type: ECDSA }
certificate_authorities:
  - name: Pebble
    key: Pebble
    type: acme
    acme_api: { production: '${pebble.directoryUrl}' }
    storage: { type: local, name: account, parameters: { path: ${base}/ca } }
    parameters: { ca_bundle: ${pebble.caBundlePath} }
storage: { type: local, parameters: { path: ${base}/storage } }
`,
    );
    const [blueprint] = await loadBlueprints({ blueprint: file });
    const workflowId = workflowIdFor(blueprint.name);

    const t = await freshWorker();
    const session = sessionOf(t);
    const requestId = await requestCycle(session, blueprint, {});
    await until('Pebble to ask for the challenge', () => web.held() > 0);
    const placed = await filesIn(acmeDirs);
    assert.ok(placed.length > 0, 'the challenge file is in place while the order is pending');
    const pendingKey = await fs.readFile(path.join(base, 'storage', `${name}.pending.key`), 'utf8');

    await kill9(worker!);
    const killedAt = Date.now();
    worker = startWorker(t.address);
    // The new worker retries the issuance: it removes what the dead one placed, then answers a new order.
    await until("the dead worker's challenge files to be replaced", async () => {
      const now = await filesIn(acmeDirs);
      return now.length > 0 && !now.some((f) => placed.includes(f));
    });
    web.release();
    const { status } = await waitForCycle(session, workflowId, requestId, silent, 45_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${workerLog}`);
    });
    console.log(`ACME order pending: renewal complete ${Date.now() - killedAt} ms after the kill`);
    assert.equal(status.state, 'Ready', `${status.reason}\n${pebble.log()}`);
    assert.equal(status.lastCycle?.renewed, true);

    await assertDeployedEverywhere(webs, name, path.join(base, 'storage'), status.stored?.serial);
    assert.equal(await fs.readFile(path.join(base, 'storage', `${name}.key`), 'utf8'), pendingKey, 'the key made before the crash is the one in use');
    for (const d of acmeDirs) assert.deepEqual(await fs.readdir(d), [], `challenge files left in ${d}`);
    await kill9(worker);
  });

  it('deploys once to each server when the worker is killed between two deploys', async () => {
    const base = await tempDir('autossl-crash-deploy-');
    const name = 'deploys.crash.test';
    const sshd = await startSshd();
    closers.push(() => sshd.stop());
    const local = path.join(base, 'web-local');
    const remote = path.join(base, 'web-ssh');
    const reloads = path.join(base, 'reloads');
    const release = path.join(base, 'release');
    // The SSH server's reload hangs until the test releases it: its files are written, its deploy not finished.
    const reload = `echo started >> ${reloads}; while [ ! -e ${release} ]; do sleep 0.1; done`;
    const file = path.join(base, `${name}.yaml`);
    await fs.writeFile(
      file,
      `name: ${name}
servers:
  - { type: local, parameters: { path: ${local} } }
  - type: ssh
    parameters:
      host: ${sshd.host}
      port: ${sshd.port}
      username: ${sshd.username}
      private_key_file: ${sshd.userKeyFile}
      known_hosts_file: ${sshd.knownHostsFile}
      path: ${remote}
      reload_command: '${reload}'
certificate: { type: DV, certificate_authority: Local, common_name: ${name}, private_key_type: ECDSA }
certificate_authorities:
  - name: Local test CA
    key: Local
    type: local-ca
    storage: { type: local, parameters: { path: ${base}/ca } }
    parameters: { ca_private_key: ca, ca_certificate: ca, create_if_missing: true }
storage: { type: local, parameters: { path: ${base}/storage } }
`,
    );
    const [blueprint] = await loadBlueprints({ blueprint: file });
    const workflowId = workflowIdFor(blueprint.name);

    const t = await freshWorker();
    const session = sessionOf(t);
    const requestId = await requestCycle(session, blueprint, {});
    const started = async () => (await fs.readFile(reloads, 'utf8').catch(() => '')).split('\n').filter(Boolean).length;
    await until("the SSH server's reload to start", async () => (await started()) === 1);
    // The Temporal server has recorded the local deploy as done: the kill falls between the two deploys.
    await until('the local deploy to complete', async () => {
      const events = (await t.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
      const deploys = new Set(
        events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deployToServer').map((e) => String(e.eventId)),
      );
      return events.some((e) => deploys.has(String(e.activityTaskCompletedEventAttributes?.scheduledEventId)));
    });
    // Each deploy renames new files into place: an inode that stays the same is a file not written again.
    const written = async () =>
      Promise.all(
        [local, remote].flatMap((d) =>
          ['key', 'crt'].map(async (k) => `${d}/${name}.${k} inode ${(await fs.stat(path.join(d, `${name}.${k}`))).ino}`),
        ),
      );
    const before = await written();

    await kill9(worker!);
    const killedAt = Date.now();
    worker = startWorker(t.address);
    await fs.writeFile(release, '');
    const { status } = await waitForCycle(session, workflowId, requestId, silent, 45_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${workerLog}`);
    });
    console.log(`between two deploys: cycle complete ${Date.now() - killedAt} ms after the kill`);
    assert.equal(status.state, 'Ready', status.reason);
    await assertDeployedEverywhere([local, remote], name, path.join(base, 'storage'), status.stored?.serial);
    assert.deepEqual(await written(), before, 'each server written once');
    // The interrupted deploy was finished, reload included, by the new worker.
    assert.equal(await started(), 2, 'the reload ran again after the crash');
    await kill9(worker);
  });
});
