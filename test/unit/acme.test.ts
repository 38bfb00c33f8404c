// The ACME plugin against a small ACME stub on loopback HTTPS, for what Pebble cannot be made to do on demand:
// rate limiting with Retry-After, server errors, a renewalInfo endpoint that answers or not, External Account
// Binding checked byte for byte. And the clean-up of challenge tokens a crashed attempt left behind.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { promises as fs } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { ChallengeLedger } from '../../src/activities/challenge-ledger';
import { servesHttp01 } from '../../src/plugins/challenge';
import type { DnsProvider } from '../../src/plugins/dns';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import { ariCertId, parseRenewalInfo } from '../../src/plugins/ca/acme/ari';
import { acmeRenewalWindow } from '../../src/plugins/ca/acme';
import { create, pluginContext, type PluginEnvironment } from '../../src/catalog/open';
import type { IssuedCertificate, ServerPlugin } from '../../src/plugins/types';
import { AuthorityKeyIdentifierExtension, X509CertificateGenerator } from '../../src/x509/peculiar';
import { issueLeaf, makeCa, makeTempDir, type TestCa } from '../helpers/pki';

const EAB_KID = 'kid-1';
const EAB_KEY = Buffer.alloc(32, 7).toString('base64url');

interface Stub {
  base: string;
  /** What the next newOrder / renewalInfo request gets. */
  mode: { order: 'rate-limited' | 'server-error'; ari: 'window' | 'missing' | 'garbage' };
  accounts: Record<string, unknown>[];
  ariRequests: string[];
  /** Paths of the GETs for a directory, answered or not. */
  directoryRequests: string[];
}

const decode = (b64: string) => JSON.parse(Buffer.from(b64, 'base64url').toString('utf8'));

async function startStub(tls: { certPem: string; keyPem: string }): Promise<Stub & { close(): Promise<void> }> {
  const stub: Stub = { base: '', mode: { order: 'rate-limited', ari: 'window' }, accounts: [], ariRequests: [], directoryRequests: [] };
  const problem = (res: import('node:http').ServerResponse, status: number, type: string, headers: Record<string, string> = {}) =>
    res
      .writeHead(status, { 'content-type': 'application/problem+json', 'replay-nonce': 'n', ...headers })
      .end(JSON.stringify({ type: `urn:ietf:params:acme:error:${type}`, detail: `stub ${type}`, status }));
  const server = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    let body = '';
    req
      .on('data', (d) => (body += d))
      .on('end', () => {
        // The directory also where a CA with a path prefix (AutoSSL's acme_api rule) and Pebble (/dir) have it.
        const url = (req.url ?? '').replace(/^\/(acme\/ca1\/directory|dir)$/, '/directory');
        if (/directory|dir$/.test(req.url ?? '')) stub.directoryRequests.push(req.url ?? '');
        if (url === '/directory') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(
            JSON.stringify({
              newNonce: `${stub.base}/nonce`,
              newAccount: `${stub.base}/account`,
              newOrder: `${stub.base}/order`,
              renewalInfo: `${stub.base}/ari`,
            }),
          );
        } else if (url === '/nonce') {
          res.writeHead(200, { 'replay-nonce': `n${Date.now()}` }).end();
        } else if (url === '/account') {
          const payload = decode(JSON.parse(body).payload);
          if (payload.onlyReturnExisting) return problem(res, 400, 'accountDoesNotExist');
          stub.accounts.push(payload);
          res
            .writeHead(201, { 'content-type': 'application/json', location: `${stub.base}/acct/1`, 'replay-nonce': 'n' })
            .end(JSON.stringify({ status: 'valid' }));
        } else if (url === '/order') {
          if (stub.mode.order === 'rate-limited') problem(res, 429, 'rateLimited', { 'retry-after': '120' });
          else problem(res, 503, 'serverInternal');
        } else if (url.startsWith('/ari/')) {
          stub.ariRequests.push(url.slice('/ari/'.length));
          if (stub.mode.ari === 'missing') return problem(res, 404, 'malformed');
          const window = { start: '2030-01-01T00:00:00Z', end: '2030-01-03T00:00:00Z' };
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(stub.mode.ari === 'window' ? JSON.stringify({ suggestedWindow: window }) : '{"suggestedWindow":{"start":1}}');
        } else {
          res.writeHead(404).end();
        }
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stub.base = `https://localhost:${(server.address() as AddressInfo).port}`;
  return Object.assign(stub, { close: () => new Promise<void>((resolve) => server.close(() => resolve())) });
}

describe('ACME plugin against a stub ACME server', () => {
  let dir: string;
  let tlsCa: TestCa;
  let stub: Awaited<ReturnType<typeof startStub>>;
  let blueprint: Blueprint;
  const env: PluginEnvironment = {
    staging: false,
    credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, env: { EAB_API_ID: EAB_KID, EAB_API_KEY: EAB_KEY } }),
  };

  before(async () => {
    dir = await makeTempDir('autossl-acme-unit-');
    tlsCa = await makeCa({ commonName: 'stub TLS CA' });
    stub = await startStub(await issueLeaf(tlsCa, { domains: ['localhost'] }));
    await fs.writeFile(path.join(dir, 'tls-ca.pem'), tlsCa.certPem);
    const file = path.join(dir, 'stub.yaml');
    // A base URL: the plugin appends /directory, as AutoSSL does.
    await fs.writeFile(
      file,
      `name: www.stub.test
servers:
  - type: local
    parameters: { path: ${dir}/web, acme_dir: ${dir}/acme }
certificate: { type: DV, certificate_authority: Stub, common_name: www.stub.test, private_key_type: ECDSA }
certificate_authorities:
  - key: Stub
    type: acme
    acme_api: { production: '${stub.base}' }
    storage: { type: local, name: account, parameters: { path: ${dir}/ca } }
    parameters: { ca_bundle: ${dir}/tls-ca.pem, eab_credentials: eab }
credentials:
  eab: { type: ApiKeyAndId }
storage: { type: local, parameters: { path: ${dir}/storage } }
`,
    );
    [blueprint] = await loadBlueprints({ blueprint: file });
  });

  after(async () => {
    await stub.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  async function issue(): Promise<unknown> {
    const activities = createActivities(env);
    const { csr } = (await new MockActivityEnvironment().run(activities.prepareRenewal, blueprint)) as { csr: string };
    return new MockActivityEnvironment().run(activities.issueCertificate, blueprint, csr).then(
      () => assert.fail('the stub never issues'),
      (err: unknown) => err,
    );
  }

  it('registers with External Account Binding, then turns rateLimited + Retry-After into a durable retry delay', async () => {
    stub.mode.order = 'rate-limited';
    const err = await issue();
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'RateLimited');
    assert.equal(err.nextRetryDelay, 120_000);
    assert.equal(err.nonRetryable, false);

    const [account] = stub.accounts;
    assert.equal(account.termsOfServiceAgreed, true);
    const eab = account.externalAccountBinding as { protected: string; payload: string; signature: string };
    assert.equal(decode(eab.protected).kid, EAB_KID);
    assert.equal(decode(eab.protected).alg, 'HS256');
    const expected = createHmac('sha256', Buffer.from(EAB_KEY, 'base64url')).update(`${eab.protected}.${eab.payload}`).digest('base64url');
    assert.equal(eab.signature, expected, 'EAB is signed with the api_key');
    assert.equal(decode(eab.payload).crv, 'P-256', 'the bound key is the new ECDSA P-256 account key');
    assert.ok(!JSON.stringify(err).includes(EAB_KEY), 'no HMAC key in the failure');
  });

  it('reports a server error as retryable', async () => {
    stub.mode.order = 'server-error';
    const err = await issue();
    assert.equal((err as Error).name, 'PluginIoError');
    assert.match((err as Error).message, /server error serverInternal: stub serverInternal/);
  });

  it('reads the renewal window of the stored certificate by its CertID, and nothing when the CA has none', async () => {
    const leaf = (await issueLeaf(await makeCa(), { domains: ['www.stub.test'] })).certPem;
    const ctx = pluginContext(blueprint, env);
    const ca = blueprint.certificateAuthorities[0];
    stub.mode.ari = 'window';
    assert.deepEqual(await acmeRenewalWindow(ca, ctx, leaf), { start: '2030-01-01T00:00:00.000Z', end: '2030-01-03T00:00:00.000Z' });
    assert.equal(stub.ariRequests.at(-1), ariCertId(leaf));
    stub.mode.ari = 'missing';
    assert.equal(await acmeRenewalWindow(ca, ctx, leaf), undefined);
    stub.mode.ari = 'garbage';
    assert.equal(await acmeRenewalWindow(ca, ctx, leaf), undefined);
    const away = { ...ca, acmeApi: { production: 'https://localhost:1/directory' } };
    assert.equal(await acmeRenewalWindow(away, ctx, leaf), undefined, 'an unreachable CA never fails the inspection');
  });

  it("finds the directory by AutoSSL's rule (<acme_api>/directory, path prefix kept), else at the URL itself", async () => {
    const leaf = (await issueLeaf(await makeCa(), { domains: ['www.stub.test'] })).certPem;
    const ctx = pluginContext(blueprint, env);
    const ca = blueprint.certificateAuthorities[0];
    stub.mode.ari = 'window';
    const at = (production: string) => ({ ...ca, acmeApi: { production } });
    stub.directoryRequests.length = 0;
    assert.ok(await acmeRenewalWindow(at(`${stub.base}/acme/ca1`), ctx, leaf), 'a base URL with a path prefix');
    assert.deepEqual(stub.directoryRequests, ['/acme/ca1/directory', '/acme/ca1/directory']);
    stub.directoryRequests.length = 0;
    assert.ok(await acmeRenewalWindow(at(`${stub.base}/dir`), ctx, leaf), "a directory URL such as Pebble's");
    assert.deepEqual(stub.directoryRequests, ['/dir/directory', '/dir', '/dir']);
    const acmeCa = await create('ca', ca.type, at(`${stub.base}/nothing`), ctx);
    await assert.rejects(acmeCa.issue({ csr: '', blueprint, servers: [] }), {
      name: 'PluginConfigError',
      message: `certificate authority 'Stub' (acme): acme_api.production: no ACME directory at ${stub.base}/nothing/directory (AutoSSL's rule) nor at ${stub.base}/nothing`,
    });
    await acmeCa.close();
  });
});

describe('ARI certificate identifier', () => {
  it('is the example of RFC 9773 section 4.1', async () => {
    const keys = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
    const cert = await X509CertificateGenerator.createSelfSigned({
      serialNumber: '0087654321',
      name: 'CN=ari.test',
      keys,
      signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
      extensions: [new AuthorityKeyIdentifierExtension('69885b6b87464041e1b37b847ba0ae2cde01c8d4')],
    });
    assert.equal(ariCertId(cert.toString('pem')), 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE');
  });

  it('accepts only a well-formed window', () => {
    assert.deepEqual(parseRenewalInfo({ suggestedWindow: { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z' } }), {
      start: '2030-01-01T00:00:00.000Z',
      end: '2030-01-02T00:00:00.000Z',
    });
    assert.equal(parseRenewalInfo({ suggestedWindow: { start: '2030-01-02T00:00:00Z', end: '2030-01-01T00:00:00Z' } }), undefined);
    assert.equal(parseRenewalInfo({ suggestedWindow: { start: 'soon', end: '2030-01-01T00:00:00Z' } }), undefined);
    assert.equal(parseRenewalInfo(null), undefined);
  });
});

describe('challenge tokens left by a crashed attempt', () => {
  it('are removed before the next attempt issues, other files stay', async () => {
    const dir = await makeTempDir('autossl-ledger-');
    try {
      const acmeDir = path.join(dir, 'acme');
      await fs.mkdir(acmeDir, { recursive: true });
      await fs.writeFile(path.join(acmeDir, 'left-by-crash_1'), 'stale');
      await fs.writeFile(path.join(acmeDir, 'someone-else'), 'keep');
      const file = path.join(dir, 'local.yaml');
      await fs.writeFile(
        file,
        `name: www.ledger.test
servers:
  - type: local
    parameters: { path: ${dir}/web, acme_dir: ${acmeDir} }
certificate: { type: DV, certificate_authority: Local, common_name: www.ledger.test, private_key_type: ECDSA }
certificate_authorities:
  - key: Local
    type: local-ca
    storage: { type: local, parameters: { path: ${dir}/ca } }
    parameters: { ca_private_key: ca, ca_certificate: ca, create_if_missing: true }
storage: { type: local, parameters: { path: ${dir}/storage } }
`,
      );
      const [b] = await loadBlueprints({ blueprint: file });
      const activities = createActivities({ staging: false, credentialsFor: (bp) => createCredentialResolver({ specs: bp.credentials, env: {} }) });
      const { csr } = (await new MockActivityEnvironment().run(activities.prepareRenewal, b)) as { csr: string };
      const retried = new MockActivityEnvironment({ attempt: 2, heartbeatDetails: { tokens: ['left-by-crash_1', '../escape'] } });
      const heartbeats: unknown[] = [];
      retried.on('heartbeat', (d: unknown) => heartbeats.push(d));
      const issued = (await retried.run(activities.issueCertificate, b, csr)) as IssuedCertificate;
      assert.match(issued.certificate, /BEGIN CERTIFICATE/);
      assert.deepEqual(await fs.readdir(acmeDir), ['someone-else']);
      // A token the server refuses (not base64url) cannot be removed: it stays recorded, never becomes a path.
      assert.deepEqual(heartbeats.at(-1), { tokens: ['../escape'] });
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('stay recorded until every server has removed them', async () => {
    const beats: string[][] = [];
    const ledger: ChallengeLedger = new ChallengeLedger(() => beats.push(ledger.details().tokens));
    const fake = (failRemove: boolean): ServerPlugin => ({
      spec: { type: 'fake', declaredType: 'fake', parameters: {}, id: 'fake', crtName: 'x' },
      describe: () => 'fake',
      readCurrent: async () => null,
      deploy: async () => {},
      putChallenge: async () => {},
      removeChallenge: async () => {
        if (failRemove) throw new Error('gone away');
      },
      close: async () => {},
    });
    const [a, b] = ledger.track([fake(false), fake(true)]).filter(servesHttp01);
    await a.putChallenge('tok', 'ka');
    await b.putChallenge('tok', 'ka');
    assert.deepEqual(beats[0], ['tok'], 'recorded before it is placed');
    await a.removeChallenge('tok');
    await assert.rejects(b.removeChallenge('tok'));
    assert.deepEqual(ledger.details().tokens, ['tok']);
  });

  it('records DNS-01 TXT records while they exist, and removes those a dead attempt left', async () => {
    const calls: string[] = [];
    const zone = new Set<string>(['_acme-challenge.old.test=dead attempt']);
    const dns: DnsProvider = {
      present: async (fqdn, value) => {
        calls.push(`present ${fqdn}`);
        zone.add(`${fqdn}=${value}`);
      },
      cleanup: async (fqdn, value) => {
        calls.push(`cleanup ${fqdn}`);
        if (fqdn.includes('stuck')) throw new Error('SERVFAIL');
        zone.delete(`${fqdn}=${value}`);
      },
      close: async () => {},
    };
    const beats: unknown[] = [];
    const ledger: ChallengeLedger = new ChallengeLedger(() => beats.push(ledger.details()));
    const previous = {
      tokens: [],
      txt: [
        { fqdn: '_acme-challenge.old.test', value: 'dead attempt' },
        { fqdn: '_acme-challenge.stuck.test', value: 'v' },
      ],
    };
    await ledger.removeLeftovers(previous, []);
    assert.deepEqual(ledger.details().txt?.length, 2, 'kept recorded until a DNS provider is opened');

    const tracked = await ledger.trackDns(dns);
    assert.deepEqual([...zone], [], "the dead attempt's record is gone");
    assert.deepEqual(ledger.details(), { tokens: [], txt: [{ fqdn: '_acme-challenge.stuck.test', value: 'v' }] }, 'one that failed to go stays');

    beats.length = 0;
    await tracked.present('_acme-challenge.new.test', 'ka');
    assert.deepEqual(
      (beats[0] as { txt: unknown[] }).txt.at(-1),
      { fqdn: '_acme-challenge.new.test', value: 'ka' },
      'recorded before it is published',
    );
    await tracked.cleanup('_acme-challenge.new.test', 'ka');
    assert.deepEqual(ledger.details().txt, [{ fqdn: '_acme-challenge.stuck.test', value: 'v' }]);
  });
});
