// The manual CA hand-off as AutoSSL's manual describes it, on the dev server with the built CLI: the renewal's
// CSR is `<name>.csr` in storage at once (the live pair untouched), status, history and the awaiting-certificate
// notification say where it is, and `autossl --blueprint B deploy -c new.crt` hands the CA's certificate over.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import { queryStatus, requestCycle, waitForCycle, type CycleOutcome } from '../../src/client/temporal';
import { workflowIdFor, type LifecycleStatus } from '../../src/workflows/definitions';
import { keyMatchesCertificate, parseCertificate, signCertificate } from '../../src/x509';
import { runCli, snapshot } from '../helpers/cli';
import { isolateGit } from '../helpers/git-http';
import { startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';
import { daysAgo, issueLeaf, makeCa, makeTempDir, type TestCa } from '../helpers/pki';
import { eventually } from '../helpers/wait';
import { startWebhook, type Webhook } from '../helpers/webhook';

const execFileAsync = promisify(execFile);
const taskQueue = 'manual-ca-test';
const silent = { out() {}, err() {} };

describe('manual CA hand-off', () => {
  let dir: string;
  let harness: LifecycleHarness;
  let hook: Webhook;
  let vendor: TestCa;

  before(async () => {
    dir = await fs.realpath(await makeTempDir('autossl-manual-'));
    // Git run by the worker and the CLI sees neither the machine's nor the user's configuration.
    await isolateGit(dir);
    hook = await startWebhook();
    vendor = await makeCa({ commonName: 'Commercial vendor CA' });
    harness = await startLifecycleHarness(taskQueue);
  });

  after(async () => {
    await harness?.stop();
    await hook?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** The built CLI against the test server, as a person runs it. */
  const autossl = (...args: string[]) => runCli([...args, '--address', harness.temporal.address, '--task-queue', taskQueue], { cwd: dir });

  /** A blueprint ordering from a manual CA, with `storage` and one local server; returns its file and blueprint. */
  async function manualBlueprint(name: string, storage: string): Promise<{ file: string; blueprint: Blueprint }> {
    const file = path.join(dir, `${name}.yaml`);
    await fs.writeFile(
      file,
      `name: ${name}
servers:
  - { type: local, parameters: { path: ${dir}/${name}/web } }
certificate: { type: DV, certificate_authority: Vendor, common_name: ${name}, private_key_type: ECDSA }
certificate_authorities: [{ name: Commercial vendor, key: Vendor }]
storage: ${storage}
notify:
  webhook: { url: '${hook.url}' }
`,
    );
    const [blueprint] = await loadBlueprints({ blueprint: file });
    return { file, blueprint };
  }

  const cycle = async (b: Blueprint, force = false): Promise<CycleOutcome> =>
    waitForCycle(harness.session, workflowIdFor(b.name), await requestCycle(harness.session, b, { force }), silent, 60_000);

  const ready = (name: string): Promise<LifecycleStatus> =>
    eventually(`${name} deployed`, 30_000, async () => {
      const status = await queryStatus(harness.session, workflowIdFor(name));
      assert.equal(status?.state, 'Ready', status?.reason);
      return status!;
    });

  /** The vendor's certificate for `csr`, with the vendor's root after it, written to a file. */
  async function vendorCertificate(csr: string, file: string): Promise<{ file: string; serial: string }> {
    const pem = await signCertificate({ csrPem: csr, caKeyPem: vendor.keyPem, caCertPem: vendor.certPem, validityDays: 90 });
    await fs.writeFile(path.join(dir, file), pem + vendor.certPem);
    return { file: path.join(dir, file), serial: parseCertificate(pem).serial };
  }

  it('stores the CSR as <name>.csr, says where in status, history and the notification, and takes the certificate from deploy -c', async () => {
    const name = 'handoff.test';
    const storage = path.join(dir, name, 'storage');
    const web = path.join(dir, name, 'web');
    const { file, blueprint } = await manualBlueprint(name, `{ type: local, parameters: { path: ${storage} } }`);
    const id = workflowIdFor(name);
    const csrFile = path.join(storage, `${name}.csr`);
    const location = `local:${csrFile}`;
    // The live pair from the previous order is due for renewal; storage and the server hold it.
    const old = await issueLeaf(vendor, { domains: [name], issuedAt: daysAgo(80), validityDays: 90, key: { type: 'ec', curve: 'P-256' } });
    for (const folder of [storage, web]) {
      await fs.mkdir(folder, { recursive: true });
      await fs.writeFile(path.join(folder, `${name}.key`), old.keyPem, { mode: 0o600 });
      await fs.writeFile(path.join(folder, `${name}.crt`), old.certPem);
    }

    const waiting = await cycle(blueprint);
    assert.equal(waiting.status.state, 'AwaitingCertificate', waiting.status.reason);
    // The CSR is where AutoSSL's manual says; the new key waits aside; the live pair is untouched everywhere.
    const csr = await fs.readFile(csrFile, 'utf8');
    assert.equal(csr, waiting.status.pendingCsr);
    assert.deepEqual((await fs.readdir(storage)).sort(), [`${name}.crt`, `${name}.csr`, `${name}.key`, `${name}.pending.key`]);
    for (const folder of [storage, web]) {
      assert.equal(await fs.readFile(path.join(folder, `${name}.key`), 'utf8'), old.keyPem, folder);
      assert.equal(await fs.readFile(path.join(folder, `${name}.crt`), 'utf8'), old.certPem, folder);
    }

    const text = await autossl('--blueprint', file, 'status');
    assert.equal(text.code, 1, text.stderr);
    assert.match(text.stdout, new RegExp(`${name} +AwaitingCertificate .*CSR at ${location.replace(/\./g, '\\.')}`));
    const json = await autossl('--blueprint', file, 'status', '--json');
    const [entry] = JSON.parse(json.stdout) as (LifecycleStatus & { workflowId: string })[];
    assert.equal(entry.pendingCsrLocation, location);
    assert.equal(entry.pendingCsr, csr);

    const history = await autossl('history', '-t', id);
    assert.equal(history.code, 0, history.stderr);
    assert.ok(history.stdout.includes(`new private key stored, CSR made, stored as ${location}`), history.stdout);
    const record = JSON.parse((await autossl('history', '-t', id, '--json')).stdout) as { entries: { csrLocation?: string }[] };
    assert.deepEqual(
      record.entries.filter((e) => e.csrLocation).map((e) => e.csrLocation),
      [location],
    );

    const awaiting = await hook.next((n) => n.certificate === name && n.event === 'awaiting-certificate');
    assert.equal(awaiting.body.csrLocation, location);
    assert.ok(awaiting.body.reason.includes(`CSR at ${location}`), awaiting.body.reason);

    // A certificate for neither the pending nor the live key: refused as bad input, nothing changes, still awaited.
    const stranger = await issueLeaf(vendor, { domains: [name] });
    await fs.writeFile(path.join(dir, 'stranger.pem'), stranger.certPem + vendor.certPem);
    const before = [await snapshot(storage), await snapshot(web)];
    const refused = await autossl('--blueprint', file, 'deploy', '-c', path.join(dir, 'stranger.pem'));
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /does not match the private key of 'handoff\.test'/);
    assert.deepEqual([await snapshot(storage), await snapshot(web)], before);
    assert.equal((await queryStatus(harness.session, id))?.state, 'AwaitingCertificate');

    // The vendor signs the CSR taken from storage; `deploy -c` hands the certificate to the workflow.
    const pendingKey = await fs.readFile(path.join(storage, `${name}.pending.key`), 'utf8');
    const issued = await vendorCertificate(csr, 'issued.pem');
    const delivered = await autossl('--blueprint', file, 'deploy', '-c', issued.file);
    assert.equal(delivered.code, 0, delivered.stderr);
    assert.match(delivered.stdout, new RegExp(`${id}: accepted certificate ${issued.serial}, valid until `));
    assert.equal((await ready(name)).stored?.serial, issued.serial);
    const deployed = await fs.readFile(path.join(web, `${name}.crt`), 'utf8');
    assert.equal(parseCertificate(deployed).serial, issued.serial);
    assert.equal(await fs.readFile(path.join(web, `${name}.key`), 'utf8'), pendingKey, 'the key made with the CSR is deployed');
    assert.equal(await fs.readFile(path.join(storage, `${name}.key`), 'utf8'), pendingKey);
    assert.deepEqual((await fs.readdir(storage)).sort(), [`${name}.crt`, `${name}.csr`, `${name}.key`]);
    assert.equal(await fs.readFile(csrFile, 'utf8'), csr, 'the CSR of the certificate in use stays');

    // AutoSSL's habit, `-k <name>.key -c new.crt`, after the next renewal: the live key given is not used.
    const again = await cycle(blueprint, true);
    assert.equal(again.status.state, 'AwaitingCertificate');
    const nextCsr = await fs.readFile(csrFile, 'utf8');
    assert.notEqual(nextCsr, csr);
    const next = await vendorCertificate(nextCsr, 'next.pem');
    const habit = await autossl('--blueprint', file, 'deploy', '-k', path.join(storage, `${name}.key`), '-c', next.file);
    assert.equal(habit.code, 0, habit.stderr);
    assert.match(habit.stderr, /--private-key .*handoff\.test\.key is not the key of .*next\.pem, not used/);
    assert.equal((await ready(name)).stored?.serial, next.serial);
    const nextDeployed = await fs.readFile(path.join(web, `${name}.crt`), 'utf8');
    assert.equal(parseCertificate(nextDeployed).serial, next.serial);
    assert.ok(keyMatchesCertificate(await fs.readFile(path.join(web, `${name}.key`), 'utf8'), nextDeployed));
  });

  it('with git storage, commits <name>.csr at once and names the repository, folder and file', async () => {
    const name = 'git-handoff.test';
    const remote = path.join(dir, 'artifacts.git');
    await execFileAsync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
    const { file, blueprint } = await manualBlueprint(name, `{ type: git, parameters: { git_url: 'file://${remote}', folder: certs } }`);
    const location = `git:file://${remote} certs/${name}.csr`;
    const show = async (rev: string) => (await execFileAsync('git', ['--git-dir', remote, 'show', rev])).stdout;
    const tree = async () =>
      (await execFileAsync('git', ['--git-dir', remote, 'ls-tree', '--name-only', 'main', 'certs/'])).stdout.split('\n').filter(Boolean).sort();

    const waiting = await cycle(blueprint);
    assert.equal(waiting.status.state, 'AwaitingCertificate', waiting.status.reason);
    assert.equal(waiting.status.pendingCsrLocation, location);
    assert.equal(await show(`main:certs/${name}.csr`), waiting.status.pendingCsr);
    assert.deepEqual(await tree(), [`certs/${name}.csr`, `certs/${name}.pending.key`]);
    const json = await autossl('--blueprint', file, 'status', '--json');
    assert.equal((JSON.parse(json.stdout) as LifecycleStatus[])[0].pendingCsrLocation, location);

    const issued = await vendorCertificate(waiting.status.pendingCsr!, 'git-issued.pem');
    const delivered = await autossl('--blueprint', file, 'deploy', '-c', issued.file);
    assert.equal(delivered.code, 0, delivered.stderr);
    assert.equal((await ready(name)).stored?.serial, issued.serial);
    assert.deepEqual(await tree(), [`certs/${name}.crt`, `certs/${name}.csr`, `certs/${name}.key`]);
    assert.equal(parseCertificate(await show(`main:certs/${name}.crt`)).serial, issued.serial);
  });
});
