// An AutoSSL user's ACME account key, against Pebble through the real lifecycle workflow: the RSA key the original
// made (PKCS#1, at the exact file name `storage.name` gives, in the blueprint's storage since the CA names no
// storage type) is used as it is and its account found, with no new registration and no new key file. And when
// nothing is stored under that name, the key and account that are made are told everywhere a person looks.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as acme from 'acme-client';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import { acmeTransport } from '../../src/plugins/ca/acme/transport';
import { requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { timeline } from '../../src/client/timeline';
import { workflowIdFor } from '../../src/workflows/definitions';
import { describeKey } from '../../src/x509';
import { serveAcmeDirs, startPebble, type TestPebble } from '../helpers/pebble';
import { startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';
import { eventually, until } from '../helpers/wait';

const silent = { out() {}, err() {} };
/** Pebble logs this line at every new registration, and only then. */
const registrations = (pebble: TestPebble): number => pebble.log().match(/There are now \d+ accounts in memory/g)?.length ?? 0;

describe("ACME account keys in AutoSSL's layout, against Pebble", () => {
  let harness: LifecycleHarness;
  let session: Session;
  let dir: string;
  let pebble: TestPebble;
  const closers: (() => Promise<void>)[] = [];
  const names = ['existing.account.test', 'new.account.test'];
  const acmeDir = (name: string) => path.join(dir, name, 'acme');

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-acme-account-'));
    harness = await startLifecycleHarness('acme-account-test');
    ({ session } = harness);
    pebble = await startPebble();
    closers.push(() => pebble.stop());
    await Promise.all(names.map((n) => fs.mkdir(acmeDir(n), { recursive: true })));
    const web = await serveAcmeDirs(pebble.httpPort, names.map(acmeDir));
    closers.push(() => web.close());
  });

  after(async () => {
    await harness?.stop();
    for (const close of closers.reverse()) await close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A blueprint as AutoSSL users write them: class paths, the CA's storage only a name, `$VAR` paths. */
  async function blueprint(name: string, extra = ''): Promise<Blueprint> {
    const site = path.join(dir, name);
    const file = path.join(dir, `${name}.yaml`);
    await fs.writeFile(
      file,
      `name: ${name}
servers:
  - type: autossl.server.local.LocalServer
    parameters: { path: $SITE/web, acme_dir: $SITE/acme }
certificate:
  type: DV
  certificate_authority: LetsEncrypt
  common_name: ${name}
certificate_authorities:
  - name: Let's Encrypt (Pebble)
    key: LetsEncrypt
    type: autossl.ca_manager.acme_v2_http01.AcmeHttp01
    certificate_types: ['DV']
    acme_api: { production: '${pebble.directoryUrl}' }
    contact_email: admin@example.test
    storage: { name: lets_encrypt_account_key }
    parameters: { ca_bundle: ${pebble.caBundlePath} }
storage:
  type: autossl.storage.local.LocalFileStorage
  parameters: { path: $SITE/storage }
${extra}`,
    );
    const [b] = await loadBlueprints({ blueprint: file, env: { SITE: site } });
    return b;
  }

  async function cycle(b: Blueprint, request: { force?: boolean } = {}) {
    const id = await requestCycle(session, b, request);
    return waitForCycle(session, workflowIdFor(b.name), id, silent, 45_000);
  }

  it('issues with the RSA account the original registered: same key, no new registration, no new file', async () => {
    const name = names[0];
    const b = await blueprint(name);
    const storage = path.join(dir, name, 'storage');
    // The original's key: RSA, PKCS#1 PEM, registered with the CA before autossl ever ran.
    const accountKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' }) as string;
    assert.match(accountKey, /^-----BEGIN RSA PRIVATE KEY-----/);
    const client = new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey });
    await acmeTransport({ caBundle: await fs.readFile(pebble.caBundlePath, 'utf8') }).run(() =>
      client.createAccount({ termsOfServiceAgreed: true, contact: ['mailto:admin@example.test'] }),
    );
    const accountUrl = client.getAccountUrl();
    // Pebble logs the registration through a pipe, which may trail its answer.
    await until('Pebble logs the registration', () => registrations(pebble) === 1, 10_000);
    await fs.mkdir(storage, { recursive: true });
    await fs.writeFile(path.join(storage, 'lets_encrypt_account_key'), accountKey, { mode: 0o600 });

    const { status } = await cycle(b);
    assert.equal(status.state, 'Ready', `${status.reason}\n${pebble.log()}`);
    assert.equal(status.lastCycle?.renewed, true);
    assert.equal(registrations(pebble), 1, `no account registered besides the original's:\n${pebble.log()}`);
    assert.equal(status.lastCycle?.notices, undefined, 'nothing to tell');
    assert.equal(await fs.readFile(path.join(storage, 'lets_encrypt_account_key'), 'utf8'), accountKey, 'the key is used as it is');
    assert.deepEqual((await fs.readdir(storage)).sort(), [`${name}.crt`, `${name}.csr`, `${name}.key`, 'lets_encrypt_account_key']);
    // The account autossl acted as is the original's: the same key finds the same account URL.
    const again = new acme.Client({ directoryUrl: pebble.directoryUrl, accountKey });
    await acmeTransport({ caBundle: await fs.readFile(pebble.caBundlePath, 'utf8') }).run(() => again.createAccount({ onlyReturnExisting: true }));
    assert.equal(again.getAccountUrl(), accountUrl);
  });

  it('creates a key and an account only when nothing is stored, and says so in history, the tracking log and the notification', async () => {
    const name = names[1];
    const site = path.join(dir, name);
    const told = path.join(site, 'notified.json');
    const b = await blueprint(
      name,
      `tracking: { type: local, parameters: { log_folder: $SITE/logs } }
notify: { command: "cat > '${told}'", events: [success] }
`,
    );
    const before = registrations(pebble);
    const { status } = await cycle(b);
    assert.equal(status.state, 'Ready', `${status.reason}\n${pebble.log()}`);
    await until('Pebble logs the new registration', () => registrations(pebble) === before + 1, 10_000);
    const storage = path.join(site, 'storage');
    // A bare name is created as <name>.key; nothing existed under either name.
    assert.deepEqual(describeKey(await fs.readFile(path.join(storage, 'lets_encrypt_account_key.key'), 'utf8')), { type: 'ec', curve: 'P-256' });
    const notices = status.lastCycle?.notices ?? [];
    assert.equal(notices.length, 2, notices.join('\n'));
    assert.match(
      notices[0],
      /^new ACME account key 'lets_encrypt_account_key\.key' created in the CA storage: neither 'lets_encrypt_account_key' nor 'lets_encrypt_account_key\.key' existed there$/,
    );
    assert.match(notices[1], /^new ACME account https:\/\/\S+ registered at https:\/\/\S+ for the account key 'lets_encrypt_account_key\.key'$/);

    const history = await eventually('the history lists the issuance', 10_000, async () => {
      const entries = await timeline(session.client, workflowIdFor(name));
      const issued = entries.find((e) => e.kind === 'certificate' && e.text.includes('received'));
      assert.ok(issued, entries.map((e) => e.text).join('\n'));
      return issued.text;
    });
    for (const notice of notices) assert.ok(history.includes(notice), history);
    const log = await fs.readFile(path.join(site, 'logs', `${name}.log`), 'utf8');
    assert.ok(log.includes(notices[1]), log);
    const notification = JSON.parse(await fs.readFile(told, 'utf8')) as { event: string; reason: string };
    assert.equal(notification.event, 'success');
    for (const notice of notices) assert.ok(notification.reason.includes(notice), notification.reason);

    // The next renewal uses that key and account, and has nothing to tell.
    const forced = await cycle(b, { force: true });
    assert.equal(forced.status.lastCycle?.renewed, true, forced.status.reason);
    assert.equal(forced.status.lastCycle?.notices, undefined);
    await until('Pebble logs the new registration', () => registrations(pebble) === before + 1, 10_000);
  });
});
