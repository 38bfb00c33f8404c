// The incapsula server plugin against a local HTTPS stand-in of Imperva's two v1 endpoints (test/helpers/incapsula.ts),
// first directly (the scripted answers: bad credentials, unknown site, 3015 twice, a site without a certificate), then
// through the lifecycle on the dev server with LocalCa and the built CLI's check and status, then behind an ACME
// order whose HTTP-01 challenge only the origin server can serve.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import type { BlueprintReport } from '../../src/inspect/report';
import { serverFacts } from '../../src/inspect/inspect';
import { requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { PluginConfigError, PluginIoError } from '../../src/plugins/errors';
import { openServer, using, type PluginEnvironment } from '../../src/catalog/open';
import { decide } from '../../src/workflows/decide';
import { workflowIdFor } from '../../src/workflows/definitions';
import { runCli } from '../helpers/cli';
import { startIncapsulaStandIn, UPLOAD_PATH, type IncapsulaStandIn } from '../helpers/incapsula';
import { everyString, startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';
import { serveAcmeDirs, startPebble } from '../helpers/pebble';
import { issueLeaf, makeCa, makeTempDir } from '../helpers/pki';
import { deployPair } from '../../src/plugins/deploy-pair';

const API_ID = '31337';
const API_KEY = '6f4d1878-f2c6-446b-8932-636b8f1705a7';
/** How the worker and the CLI find the credential `incapsula` (AutoSSL's NAME_FIELD variables). */
const CREDENTIAL_ENV = { INCAPSULA_API_ID: API_ID, INCAPSULA_API_KEY: API_KEY };
const silent = { out() {}, err() {} };

describe('incapsula site against the HTTPS stand-in', () => {
  let api: IncapsulaStandIn;
  let dir: string;

  before(async () => {
    api = await startIncapsulaStandIn({ credentials: { api_id: API_ID, api_key: API_KEY } });
    dir = await makeTempDir('autossl-incapsula-');
  });
  after(async () => {
    await api?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** A blueprint with one Incapsula site and a LocalCa, in the original's format (class paths). */
  async function blueprint(
    name: string,
    siteId: number,
    opts: { baseUrl?: string; caBundle?: string | null; more?: string } = {},
  ): Promise<Blueprint> {
    const file = path.join(dir, `${name}.yaml`);
    const caBundle = opts.caBundle === undefined ? api.caBundlePath : opts.caBundle;
    await fs.writeFile(
      file,
      `name: ${name}
servers:
  - type: autossl.server.incapsula.IncapsulaSite
    credentials: incapsula
    parameters:
      site_id: ${siteId}
      base_url: ${opts.baseUrl ?? api.baseUrl}${caBundle === null ? '' : `\n      ca_bundle: ${caBundle}`}
certificate:
  type: DV
  certificate_authority: Local
  common_name: ${name}
  san: [www.${name}]
certificate_authorities:
  - name: Local test CA
    key: Local
    type: autossl.ca_manager.local.LocalCa
    storage: { type: local, parameters: { path: ${dir}/ca } }
    parameters: { ca_private_key: ca, ca_certificate: ca, create_if_missing: true }
storage:
  type: autossl.storage.local.LocalFileStorage
  parameters: { path: ${dir}/${name}/storage }
credentials:
  incapsula: { type: ApiKeyAndId }
${opts.more ?? ''}`,
    );
    const [b] = await loadBlueprints({ blueprint: file });
    return b;
  }

  const env = (credentials: Record<string, string> = CREDENTIAL_ENV): PluginEnvironment => ({
    staging: false,
    credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, env: credentials }),
  });
  const site = (b: Blueprint, e = env()) => openServer(b, b.servers[0].id, e);
  const requestsFor = (siteId: number) => api.requests.filter((r) => r.fields.site_id === String(siteId));

  /** A leaf for `name` with LocalCa-like chain: the plugin uploads leaf and root. */
  async function pair(name: string) {
    const ca = await makeCa();
    const leaf = await issueLeaf(ca, { domains: [name, `www.${name}`] });
    return { key: leaf.keyPem, certificate: leaf.certPem, chain: [ca.certPem] };
  }

  /** Every message an error carries, with its causes: none may hold a credential. */
  const assertNoSecret = (err: unknown) => {
    const text = everyString(err instanceof Error ? { message: err.message, stack: err.stack, cause: String(err.cause) } : err);
    assert.equal(text.includes(API_KEY), false, 'the API key is in an error');
    assert.equal(text.includes(API_ID), false, 'the API id is in an error');
  };

  it('reports no certificate for a site that has none yet, and deploy is then due', async () => {
    api.addSite({ siteId: 1001, domain: 'fresh.example.test' });
    const b = await blueprint('fresh.example.test', 1001);
    const facts = await using(await site(b), (s) => serverFacts(b, b.servers[0].id, s));
    assert.deepEqual(facts, { id: b.servers[0].id, label: `incapsula:site 1001 via ${new URL(api.baseUrl).host}`, certificate: null });
    const verdict = decide({ at: new Date().toISOString(), stored: null, servers: [facts] }, { renewalDelayDays: 30, now: Date.now() });
    assert.deepEqual(verdict.servers[0].reasons, ['no certificate deployed']);
    assert.deepEqual(
      requestsFor(1001).map((r) => r.path),
      ['/api/prov/v1/sites/status'],
    );
    assert.deepEqual(api.problems, []);
  });

  it('refuses bad credentials at once (no retry), without repeating them', async () => {
    api.addSite({ siteId: 1002, domain: 'locked.example.test' });
    const b = await blueprint('locked.example.test', 1002);
    const wrong = { INCAPSULA_API_ID: API_ID, INCAPSULA_API_KEY: 'not-the-key' };
    for (const action of ['read', 'deploy'] as const) {
      const before = requestsFor(1002).length;
      const attempt = using(await site(b, env(wrong)), async (s) =>
        action === 'read' ? s.readCurrent() : s.deploy(deployPair(await pair('locked.example.test'))),
      );
      await assert.rejects(attempt, (err: unknown) => {
        assert.ok(err instanceof PluginConfigError, String(err));
        assert.match(err.message, /res 9411: Authentication missing or invalid \(authentication missing or invalid: check the api_id and api_key/);
        assertNoSecret(err);
        assert.equal(err.message.includes('not-the-key'), false);
        return true;
      });
      assert.equal(requestsFor(1002).length - before, 1, `${action}: one request, not retried`);
    }
  });

  it('refuses an unknown site_id, naming it', async () => {
    const b = await blueprint('nowhere.example.test', 9999);
    await assert.rejects(
      using(await site(b), (s) => s.readCurrent()),
      (err: unknown) => {
        assert.ok(err instanceof PluginConfigError, String(err));
        assert.equal(
          err.message,
          `incapsula:site 9999 via ${new URL(api.baseUrl).host}: reading the site status refused with res 9413: Unknown/unauthorized site_id (unknown or unauthorized site_id)`,
        );
        return true;
      },
    );
    assert.equal(requestsFor(9999).length, 1);
  });

  it('retries res 3015 twice and then uploads the full chain; the site reports the new expiry', async () => {
    const siteState = api.addSite({ siteId: 1003, domain: 'flaky.example.test' });
    const b = await blueprint('flaky.example.test', 1003);
    const deployed = await pair('flaky.example.test');
    api.failNext(1003, 'upload', 2);
    await using(await site(b), (s) => s.deploy(deployPair(deployed)));
    assert.deepEqual(
      requestsFor(1003).map((r) => [r.path, r.res]),
      [
        [UPLOAD_PATH, 3015],
        [UPLOAD_PATH, 3015],
        [UPLOAD_PATH, 0],
      ],
    );
    assert.deepEqual(api.problems, []);
    assert.equal(siteState.custom?.certificate, `${deployed.certificate}${deployed.chain[0]}`);
    const current = await using(await site(b), (s) => s.readCurrent());
    const notAfter = new Date(new X509Certificate(deployed.certificate).validTo).toISOString();
    assert.deepEqual(current, { reported: { domains: ['flaky.example.test'], notAfter } });
  });

  it('gives up on res 3015 after its bounded attempts with a retryable error, and on connection failures too', async () => {
    api.addSite({ siteId: 1004, domain: 'down.example.test' });
    const b = await blueprint('down.example.test', 1004);
    api.failNext(1004, 'status', 10);
    await assert.rejects(
      using(await site(b), (s) => s.readCurrent()),
      (err: unknown) => err instanceof PluginIoError && err.retryable && /res 3015: Internal error/.test(err.message),
    );
    assert.equal(requestsFor(1004).length, 4);
    const closed = await blueprint('closed.example.test', 1004, { baseUrl: 'https://localhost:1' });
    await assert.rejects(
      using(await site(closed), (s) => s.readCurrent()),
      (err: unknown) => err instanceof PluginIoError && /cannot reach localhost:1 \(ECONNREFUSED\)/.test(err.message),
    );
  });

  it('refuses an endpoint whose TLS certificate it cannot trust, pointing at ca_bundle', async () => {
    api.addSite({ siteId: 1005, domain: 'untrusted.example.test' });
    const b = await blueprint('untrusted.example.test', 1005, { caBundle: null });
    await assert.rejects(
      using(await site(b), (s) => s.readCurrent()),
      (err: unknown) =>
        err instanceof PluginConfigError && /TLS with localhost:\d+ failed \(\w+\); for a private CA give ca_bundle/.test(err.message),
    );
    assert.equal(requestsFor(1005).length, 0);
  });

  describe('through the lifecycle on the dev server, then check and status', () => {
    let harness: LifecycleHarness;
    let session: Session;
    const taskQueue = 'incapsula-test';

    before(async () => {
      harness = await startLifecycleHarness(taskQueue, CREDENTIAL_ENV);
      ({ session } = harness);
    });
    after(async () => {
      await harness?.stop();
    });

    async function cycle(b: Blueprint, request: { force?: boolean } = {}) {
      const id = await requestCycle(session, b, request);
      return waitForCycle(session, workflowIdFor(b.name), id, silent, 60_000);
    }

    it('issues with LocalCa, deploys to the site, and check and status show its expiry', async () => {
      const name = 'shop.example.test';
      const siteState = api.addSite({ siteId: 4711, domain: name });
      const b = await blueprint(name, 4711);
      const { status } = await cycle(b);
      assert.equal(status.state, 'Ready', status.reason);
      assert.deepEqual(status.lastCycle?.deployed, [b.servers[0].id]);
      assert.deepEqual(api.problems, []);
      const uploaded = siteState.custom?.certificate?.match(/-----BEGIN CERTIFICATE-----/g)?.length;
      assert.equal(uploaded, 2, 'leaf and the LocalCa root');
      const expiry = new Date(siteState.custom!.expirationDate).toISOString();
      assert.equal(status.stored?.notAfter, expiry);
      assert.deepEqual(
        status.servers.map((s) => [s.state, s.notAfter]),
        [['ok', expiry]],
      );

      // A cycle with nothing to do uploads nothing: the reported expiry keeps the site up to date.
      const uploads = requestsFor(4711).filter((r) => r.path === UPLOAD_PATH).length;
      const again = await cycle(b);
      assert.equal(again.status.state, 'Ready', again.status.reason);
      assert.deepEqual(again.status.lastCycle?.deployed, []);
      assert.equal(requestsFor(4711).filter((r) => r.path === UPLOAD_PATH).length, uploads);

      const cliEnv = { env: CREDENTIAL_ENV, cwd: dir };
      const checked = await runCli(['--blueprint', path.join(dir, `${name}.yaml`), 'check', '--json'], cliEnv);
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);
      const [report] = (JSON.parse(checked.stdout) as { certificates: BlueprintReport[] }).certificates;
      assert.equal(report.verdict, 'up-to-date');
      assert.equal(report.servers[0].certificate?.notAfter, expiry);
      assert.deepEqual([report.servers[0].certificate?.keyMatches, report.servers[0].certificate?.chain], [null, null]);
      const table = await runCli(['--blueprint', path.join(dir, `${name}.yaml`), 'check'], cliEnv);
      assert.equal(table.code, 0, table.stdout + table.stderr);
      const siteRow = table.stdout.split('\n').find((l) => l.includes('incapsula:site 4711'));
      assert.match(siteRow ?? '', new RegExp(`${expiry.slice(0, 10)}\\s+\\d+\\s+yes\\s+-\\s+-\\s+up to date`));

      const address = ['--address', harness.temporal.address];
      const shown = await runCli(['--blueprint', path.join(dir, `${name}.yaml`), 'status', '--json', ...address], cliEnv);
      assert.equal(shown.code, 0, shown.stdout + shown.stderr);
      const [state] = JSON.parse(shown.stdout) as { state: string; stored: { notAfter: string }; servers: { label: string; notAfter: string }[] }[];
      assert.equal(state.state, 'Ready');
      assert.deepEqual(
        state.servers.map((s) => [s.label, s.notAfter]),
        [[`incapsula:site 4711 via ${new URL(api.baseUrl).host}`, expiry]],
      );
      const text = await runCli(['--blueprint', path.join(dir, `${name}.yaml`), 'status', ...address], cliEnv);
      assert.match(text.stdout, new RegExp(`${name}\\s+Ready\\s+${expiry.slice(0, 16)}\\s+1/1`));

      // The credentials were resolved on the worker and in the CLI: none is in the history or the output.
      const history = await harness.temporal.client.workflow.getHandle(workflowIdFor(name)).fetchHistory();
      const recorded = everyString(history) + checked.stdout + checked.stderr + table.stdout + shown.stdout + text.stdout + text.stderr;
      assert.equal(recorded.includes(API_KEY), false, 'the API key leaked');
      assert.equal(recorded.includes(API_ID), false, 'the API id leaked');
    });

    it('takes HTTP-01 through the origin server behind the site, and refuses an order only the site would serve', async () => {
      const pebble = await startPebble();
      const acmeDir = path.join(dir, 'origin-acme');
      await fs.mkdir(acmeDir, { recursive: true });
      const web = await serveAcmeDirs(pebble.httpPort, [acmeDir]);
      try {
        // AutoSSL's chain_of_trust: intermediate, then root. The CA delivers the intermediate; the root completes it.
        const trust = [await pebble.intermediate(), await pebble.root()];
        const write = async (name: string, siteId: number, origin: boolean): Promise<Blueprint> => {
          api.addSite({ siteId, domain: name });
          const file = path.join(dir, `${name}.yaml`);
          const originServer = origin
            ? `
  - type: local
    parameters: { path: ${dir}/${name}/origin, acme_dir: ${acmeDir} }`
            : '';
          await fs.writeFile(
            file,
            `name: ${name}
servers:
  - type: incapsula
    credentials: incapsula
    parameters: { site_id: ${siteId}, base_url: '${api.baseUrl}', ca_bundle: ${api.caBundlePath} }${originServer}
certificate:
  type: DV
  certificate_authority: Pebble
  common_name: ${name}
  chain_of_trust:
${trust
  .map(
    (pem) =>
      `    - |\n${pem
        .trim()
        .split('\n')
        .map((l) => `      ${l}`)
        .join('\n')}`,
  )
  .join('\n')}
certificate_authorities:
  - name: Pebble
    key: Pebble
    type: autossl.ca_manager.acme_v2_http01.AcmeHttp01
    acme_api: { production: '${pebble.directoryUrl}' }
    contact_email: admin@example.test
    storage: { type: local, name: account, parameters: { path: ${dir}/${name}/account } }
    parameters: { ca_bundle: ${pebble.caBundlePath}, challenge: http-01 }
storage:
  type: local
  parameters: { path: ${dir}/${name}/storage }
credentials:
  incapsula: { type: ApiKeyAndId }
`,
          );
          const [b] = await loadBlueprints({ blueprint: file });
          return b;
        };

        const behind = await write('behind.acme.test', 5001, true);
        const { status } = await cycle(behind);
        assert.equal(status.state, 'Ready', `${status.reason}\n${pebble.log()}`);
        assert.deepEqual(status.lastCycle?.deployed.sort(), behind.servers.map((s) => s.id).sort());
        assert.ok(
          web.requests.some((r) => r.startsWith('/.well-known/acme-challenge/')),
          'Pebble fetched the token from the origin',
        );
        assert.deepEqual(await fs.readdir(acmeDir), [], 'the token was removed');
        assert.deepEqual(api.problems, []);
        const uploaded = api.site(5001)?.custom?.certificate ?? '';
        assert.equal(uploaded.match(/-----BEGIN CERTIFICATE-----/g)?.length, 3, 'leaf, intermediate and the root from chain_of_trust');

        const alone = await write('alone.acme.test', 5002, false);
        const refused = await cycle(alone);
        assert.equal(refused.status.state, 'RenewalFailed');
        assert.match(
          refused.status.lastCycle?.error ?? '',
          /HTTP-01 for alone\.acme\.test needs a server to serve the challenge: incapsula:site 5002 via localhost:\d+ place\(s\) no challenge files \(add a server with acme_dir, or use dns-01\)/,
        );
        assert.equal(api.site(5002)?.custom, undefined);
      } finally {
        await web.close();
        await pebble.stop();
      }
    });
  });
});
