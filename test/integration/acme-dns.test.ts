// DNS-01 end to end: the lifecycle workflow on a real dev server orders a wildcard certificate from Pebble, which
// resolves the test names at a real BIND; the rfc2136 provider publishes the challenges there and removes them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { loadBlueprints } from '../../src/catalog';
import { requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { workflowIdFor } from '../../src/workflows/definitions';
import { parseCertificate } from '../../src/x509';
import { startBind, type TestBind } from '../helpers/bind';
import { startPebble, type TestPebble } from '../helpers/pebble';
import { startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';

const execFileAsync = promisify(execFile);
const silent = { out() {}, err() {} };

describe('DNS-01 through BIND (RFC 2136) with Pebble, through the lifecycle workflow', () => {
  let bind: TestBind;
  let pebble: TestPebble;
  let harness: LifecycleHarness;
  let session: Session;
  let dir: string;
  const taskQueue = 'acme-dns-test';

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-acme-dns-'));
    bind = await startBind();
    pebble = await startPebble({ dnsServer: bind.server });
    // The TSIG secret reaches the worker the way a deployment gives it: as TSIG_API_KEY / TSIG_API_ID.
    const env = { TSIG_API_KEY: bind.secret, TSIG_API_ID: bind.keyName };
    harness = await startLifecycleHarness(taskQueue, env);
    ({ session } = harness);
  });

  after(async () => {
    await harness?.stop();
    await pebble?.stop();
    await bind?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('issues *.example.test + example.test over DNS-01, leaves no TXT record, and the chain verifies', async () => {
    const name = 'example.test';
    const file = path.join(dir, `${name}.yaml`);
    await fs.writeFile(
      file,
      `name: ${name}
servers:
  - type: local
    parameters: { path: ${dir}/web, deploy_full_chain: true }
certificate:
  type: DV
  certificate_authority: Pebble
  common_name: '*.example.test'
  san: [example.test]
  dns: { provider: rfc2136, credentials: tsig, parameters: { server: '${bind.server}', ttl: 5 } }
certificate_authorities:
  - key: Pebble
    type: acme
    acme_api: { production: '${pebble.directoryUrl}' }
    contact_email: admin@example.test
    storage: { type: local, name: account, parameters: { path: ${dir}/ca } }
    parameters: { ca_bundle: ${pebble.caBundlePath} }
storage:
  type: local
  parameters: { path: ${dir}/storage }
credentials:
  tsig: { type: ApiKeyAndId }
`,
    );
    const [b] = await loadBlueprints({ blueprint: file });
    const id = await requestCycle(session, b, {});
    const { status } = await waitForCycle(session, workflowIdFor(b.name), id, silent, 60_000);
    assert.equal(status.state, 'Ready', `${status.reason}\n${pebble.log()}\n${bind.log()}`);
    assert.equal(status.lastCycle?.renewed, true);

    const deployed = path.join(dir, 'web', `${name}.crt`);
    const leaf = parseCertificate(await fs.readFile(deployed, 'utf8'));
    assert.equal(leaf.serial, status.stored?.serial);
    assert.deepEqual([...leaf.domains].sort(), ['*.example.test', 'example.test']);

    // Both challenges went through BIND (Pebble asked it, not another DNS), one TXT value each, both deleted.
    const log = bind.log();
    assert.equal(log.match(/adding an RR at '_acme-challenge\.example\.test' TXT/g)?.length, 2, log);
    assert.equal(log.match(/deleting an RR at _acme-challenge\.example\.test TXT/g)?.length, 2, log);
    await assert.rejects(bind.resolver.resolveTxt('_acme-challenge.example.test'), { code: 'ENODATA' });

    const trust = path.join(dir, 'pebble-trust.pem');
    await fs.writeFile(trust, (await pebble.root()) + (await pebble.intermediate()));
    const { stdout } = await execFileAsync('openssl', ['verify', '-CAfile', trust, deployed]);
    assert.match(stdout, /: OK$/m);
  });
});
