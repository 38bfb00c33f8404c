// In-house plugins in a real lifecycle: a certificate issued by LocalCa on the dev server is deployed by a server
// plugin and tracked by a tracking plugin that the blueprint names by path, as teams plugged classes into AutoSSL.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadBlueprints } from '../../src/catalog';
import { requestCycle, waitForCycle } from '../../src/client/temporal';
import { workflowIdFor } from '../../src/workflows/definitions';
import { parseCertificate } from '../../src/x509';
import { runCli } from '../helpers/cli';
import { startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';
import { makeTempDir } from '../helpers/pki';

const PLUGINS = path.resolve(__dirname, '../../../test/fixtures/plugins');
const silent = { out() {}, err() {} };

describe('in-house plugins in the lifecycle', () => {
  let harness: LifecycleHarness;
  let dir: string;

  before(async () => {
    dir = await makeTempDir('autossl-inhouse-');
    harness = await startLifecycleHarness('inhouse-test');
  });
  after(async () => {
    await harness?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('issues, deploys through the in-house server, files a ticket per step, and check reads the server back', async () => {
    const rel = `./${path.relative(dir, PLUGINS)}`;
    const file = path.join(dir, 'inhouse.test.yaml');
    await fs.writeFile(
      file,
      `name: inhouse.test
servers:
  - type: ${rel}/server.js#server
    parameters: { folder: ${dir}/proxy }
certificate:
  type: DV
  certificate_authority: Local
  common_name: inhouse.test
  private_key_type: ECDSA
  private_key_size: 256
certificate_authorities:
  - name: Local test CA
    key: Local
    type: local-ca
    storage: { type: local, parameters: { path: ${dir}/ca } }
    parameters: { ca_private_key: ca, ca_certificate: ca, create_if_missing: true }
storage:
  type: local
  parameters: { path: ${dir}/storage }
tracking:
  type: ${rel}/ticket-tracking.js
  parameters: { folder: ${dir}/tickets, queue: PKI, priority: 2 }
  data: [{ type: csr }]
`,
    );
    const [b] = await loadBlueprints({ blueprint: file });
    const id = await requestCycle(harness.session, b, {});
    const { status, finished } = await waitForCycle(harness.session, workflowIdFor(b.name), id, silent, 60_000);
    assert.equal(finished, true);
    assert.equal(status.state, 'Ready', status.reason);
    assert.deepEqual(status.lastCycle?.deployed, [b.servers[0].id]);

    const bundle = await fs.readFile(path.join(dir, 'proxy', 'inhouse.test.pem'), 'utf8');
    assert.match(bundle, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(parseCertificate(bundle.slice(bundle.indexOf('-----BEGIN CERTIFICATE-----'))).serial, status.stored?.serial);

    const tickets = (await fs.readFile(path.join(dir, 'tickets', 'inhouse.test.tickets'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.ok(tickets.length >= 3, JSON.stringify(tickets));
    assert.ok(tickets.every((t) => t.queue === 'PKI' && t.priority === 2 && t.id === 'cert:inhouse.test'));
    assert.ok(tickets.some((t) => t.step === 'csr-created' && t.has_csr));
    assert.ok(tickets.some((t) => t.step === 'deployed'));

    const check = await runCli(['--blueprint', file, 'check', '--json']);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    const [report] = JSON.parse(check.stdout).certificates;
    assert.equal(report.verdict, 'up-to-date');
    assert.equal(report.servers[0].label, `pem-bundle:${dir}/proxy/inhouse.test.pem`);
    assert.equal(report.servers[0].certificate.serial, status.stored?.serial);
  });
});
