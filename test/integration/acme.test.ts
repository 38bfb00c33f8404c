// ACME renewal through the real lifecycle workflow on a real dev server, against Pebble on loopback: HTTP-01 to
// two LocalServers whose acme_dir folders a real HTTP server serves, account reuse, bad nonces, and the CA
// going away in the middle of a renewal.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import { requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { workflowIdFor } from '../../src/workflows/definitions';
import { describeKey, parseCertificate } from '../../src/x509';
import { serveAcmeDirs, startPebble, type TestPebble } from '../helpers/pebble';
import { startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';

const execFileAsync = promisify(execFile);
const silent = { out() {}, err() {} };

describe('ACME renewal against Pebble, through the lifecycle workflow', () => {
  let harness: LifecycleHarness;
  let session: Session;
  let dir: string;
  const closers: (() => Promise<void>)[] = [];
  const taskQueue = 'acme-test';

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-acme-'));
    harness = await startLifecycleHarness(taskQueue);
    ({ session } = harness);
  });

  after(async () => {
    await harness?.stop();
    for (const close of closers.reverse()) await close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A Pebble with an HTTP server answering its HTTP-01 requests from `acmeDirs`. */
  async function pebbleServing(acmeDirs: string[], opts: Parameters<typeof startPebble>[0] = {}): Promise<TestPebble> {
    const pebble = await startPebble(opts);
    closers.push(() => pebble.stop());
    await Promise.all(acmeDirs.map((d) => fs.mkdir(d, { recursive: true })));
    const web = await serveAcmeDirs(pebble.httpPort, acmeDirs);
    closers.push(() => web.close());
    return pebble;
  }

  async function blueprint(name: string, pebble: TestPebble, extra: { profile?: string; san?: string; reuseKey?: boolean } = {}): Promise<Blueprint> {
    const file = path.join(dir, `${name}.yaml`);
    await fs.writeFile(
      file,
      `name: ${name}
servers:
  - type: local
    parameters: { path: ${dir}/${name}/web-1, acme_dir: ${dir}/${name}/acme-1 }
  - type: autossl.server.local.LocalServer
    parameters: { path: ${dir}/${name}/web-2, acme_dir: ${dir}/${name}/acme-2, deploy_full_chain: true }
certificate:
  type: DV
  certificate_authority: Pebble
  common_name: ${name}
  san: [${extra.san ?? `alt.${name}`}]
  private_key_type: ECDSA
  private_key_size: 384
  private_key_reuse: ${extra.reuseKey ?? false}${extra.profile ? `\n  profile: ${extra.profile}` : ''}
certificate_authorities:
  - name: Pebble
    key: Pebble
    type: autossl.ca_manager.acme_v2_http01.AcmeHttp01
    acme_api: { production: '${pebble.directoryUrl}' }
    contact_email: admin@example.test
    storage: { type: local, name: account, parameters: { path: ${dir}/${name}/ca } }
    parameters: { ca_bundle: ${pebble.caBundlePath} }
storage:
  type: local
  parameters: { path: ${dir}/${name}/storage }
`,
    );
    const [b] = await loadBlueprints({ blueprint: file });
    return b;
  }

  const acmeDirs = (name: string) => [path.join(dir, name, 'acme-1'), path.join(dir, name, 'acme-2')];

  async function cycle(b: Blueprint, request: { force?: boolean } = {}) {
    const id = await requestCycle(session, b, request);
    return waitForCycle(session, workflowIdFor(b.name), id, silent, 45_000);
  }

  async function assertVerifies(pebble: TestPebble, certificateFile: string): Promise<void> {
    const trust = path.join(dir, `trust-${Date.now()}.pem`);
    await fs.writeFile(trust, (await pebble.root()) + (await pebble.intermediate()));
    const { stdout } = await execFileAsync('openssl', ['verify', '-CAfile', trust, certificateFile]);
    assert.match(stdout, /: OK/);
  }

  async function assertNoTokens(name: string): Promise<void> {
    for (const d of acmeDirs(name)) assert.deepEqual(await fs.readdir(d), [], `challenge files left in ${d}`);
  }

  it('issues over HTTP-01 to two LocalServers, verifies against Pebble, and reuses the account key', async () => {
    const name = 'www.acme.test';
    const pebble = await pebbleServing(acmeDirs(name));
    const b = await blueprint(name, pebble);

    const started = Date.now();
    const first = await cycle(b);
    const firstMs = Date.now() - started;
    assert.equal(first.status.state, 'Ready', `${first.status.reason}\n${pebble.log()}`);
    assert.equal(first.status.lastCycle?.renewed, true);
    assert.deepEqual(first.status.lastCycle?.deployed.sort(), b.servers.map((s) => s.id).sort());
    const web1 = path.join(dir, name, 'web-1', `${name}.crt`);
    const web2 = path.join(dir, name, 'web-2', `${name}.crt`);
    assert.equal(parseCertificate(await fs.readFile(web1, 'utf8')).serial, first.status.stored?.serial);
    assert.deepEqual(first.status.stored?.domains.sort(), [name, `alt.${name}`].sort());
    await assertVerifies(pebble, web1);
    await assertVerifies(pebble, web2);
    await assertNoTokens(name);
    // Key policy: ECDSA P-384 as the blueprint asks, all the way through the CA.
    assert.deepEqual(describeKey(await fs.readFile(path.join(dir, name, 'web-1', `${name}.key`), 'utf8')), { type: 'ec', curve: 'P-384' });

    const caStorage = path.join(dir, name, 'ca');
    assert.deepEqual(await fs.readdir(caStorage), ['account.key']);
    const accountKey = await fs.readFile(path.join(caStorage, 'account.key'), 'utf8');
    assert.deepEqual(describeKey(accountKey), { type: 'ec', curve: 'P-256' });

    const again = Date.now();
    const forced = await cycle(b, { force: true });
    const forcedMs = Date.now() - again;
    assert.equal(forced.status.state, 'Ready', forced.status.reason);
    assert.equal(forced.status.lastCycle?.renewed, true);
    assert.notEqual(forced.status.stored?.serial, first.status.stored?.serial);
    assert.equal(await fs.readFile(path.join(caStorage, 'account.key'), 'utf8'), accountKey, 'the account key is reused');
    assert.deepEqual(await fs.readdir(caStorage), ['account.key']);
    await assertNoTokens(name);
    console.log(`issuance cycle: first ${firstMs} ms (account registration included), forced renewal ${forcedMs} ms`);
  });

  // Debian's Pebble 2.4 has no renewal information and no profiles; a newer build (AUTOSSL_PEBBLE) has both.
  it('follows the renewal window the CA suggests and names the replaced certificate, when the CA offers ARI', async () => {
    const name = 'ari.acme.test';
    const pebble = await pebbleServing(acmeDirs(name));
    const ari = await pebble.offersAri();
    const b = await blueprint(name, pebble, ari ? { profile: 'shortlived' } : {});
    const first = await cycle(b);
    assert.equal(first.status.state, 'Ready', `${first.status.reason}\n${pebble.log()}`);
    const stored = first.status.stored!;
    if (!ari) {
      assert.equal(stored.renewalWindow, undefined, 'no window without ARI, and the inspection still succeeds');
      assert.equal((await cycle(b)).status.lastCycle?.renewed, false);
      return;
    }
    assert.ok(stored.renewalWindow, 'the inspection reads the suggested window');
    const renewAt = Date.parse(first.status.renewAt!);
    assert.ok(renewAt >= Date.parse(stored.renewalWindow.start) && renewAt <= Date.parse(stored.renewalWindow.end), 'renewal inside the window');
    const lifetimeDays = (Date.parse(stored.notAfter) - Date.parse(stored.notBefore)) / 86_400_000;
    assert.ok(lifetimeDays > 5.9 && lifetimeDays < 6.1, `the 'shortlived' profile gives six days, not ${lifetimeDays}`);

    // The CA wants it replaced now: an ordinary cycle renews, and the order names the certificate it replaces.
    const crt = await fs.readFile(path.join(dir, name, 'storage', `${name}.crt`), 'utf8');
    await pebble.setRenewalWindow(crt, {
      start: new Date(Date.now() - 7_200_000).toISOString(),
      end: new Date(Date.now() - 3_600_000).toISOString(),
    });
    const renewed = await cycle(b);
    assert.equal(renewed.status.lastCycle?.renewed, true, renewed.status.reason);
    assert.match(renewed.status.lastCycle?.renewReasons.join('; ') ?? '', /renewal information/);
    assert.match(pebble.log(), /has been marked as replaced/);
    assert.notEqual(renewed.status.stored?.serial, stored.serial);
  });

  it('refuses a wildcard without a DNS provider at once, saying why, and stores nothing', async () => {
    const name = 'wild.acme.test';
    const pebble = await pebbleServing(acmeDirs(name));
    const b = await blueprint(name, pebble, { san: `'*.${name}'` });
    const { status } = await cycle(b);
    assert.equal(status.state, 'RenewalFailed');
    assert.match(status.lastCycle?.error ?? '', /\*\.wild\.acme\.test can only be validated with DNS-01.*'dns' section/);
    assert.equal(status.stored, null);
    assert.deepEqual(
      (await fs.readdir(path.join(dir, name, 'storage'))).filter((f) => !f.includes('.pending')),
      [],
    );
  });

  it('still issues when Pebble rejects half of the nonces', async () => {
    const name = 'nonce.acme.test';
    const pebble = await pebbleServing(acmeDirs(name), { nonceRejectPercent: 50 });
    const b = await blueprint(name, pebble);
    assert.match(pebble.log(), /reject 50% of good nonces/);
    const { status } = await cycle(b);
    assert.equal(status.state, 'Ready', `${status.reason}\n${pebble.log()}`);
    assert.equal(status.lastCycle?.renewed, true);
    await assertVerifies(pebble, path.join(dir, name, 'web-2', `${name}.crt`));
    await assertNoTokens(name);
  });

  it('waits while Pebble is away in the middle of a renewal and completes once it is back', async () => {
    const name = 'away.acme.test';
    const pebble = await pebbleServing(acmeDirs(name));
    const b = await blueprint(name, pebble, { reuseKey: true });
    const first = await cycle(b);
    assert.equal(first.status.state, 'Ready', first.status.reason);
    const keyFile = path.join(dir, name, 'web-1', `${name}.key`);
    const firstKey = await fs.readFile(keyFile, 'utf8');

    await pebble.stopCa();
    const id = await requestCycle(session, b, { force: true });
    await new Promise((resolve) => setTimeout(resolve, 4_000));
    await pebble.startCa();
    const { status } = await waitForCycle(session, workflowIdFor(b.name), id, silent, 45_000);
    assert.equal(status.state, 'Ready', `${status.reason}\n${pebble.log()}`);
    assert.equal(status.lastCycle?.renewed, true);
    assert.notEqual(status.stored?.serial, first.status.stored?.serial);
    // Issued by the Pebble that came back (a restarted Pebble has a new root).
    await assertVerifies(pebble, path.join(dir, name, 'web-1', `${name}.crt`));
    assert.equal(await fs.readFile(keyFile, 'utf8'), firstKey, 'private_key_reuse keeps the key across ACME renewals');
    await assertNoTokens(name);
  });
});
