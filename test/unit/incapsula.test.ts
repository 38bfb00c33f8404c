// The incapsula server plugin's pure parts: the forms it sends, how it reads Imperva's answers, its blueprint
// entry, and the optional HTTP-01 capability it lacks. Its requests against a real HTTPS endpoint are in
// test/integration/incapsula.test.ts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ChallengeLedger } from '../../src/activities/challenge-ledger';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint, ServerSpec } from '../../src/blueprint/types';
import { serverFacts } from '../../src/inspect/inspect';
import { servesHttp01 } from '../../src/plugins/challenge';
import { PluginConfigError, PluginIoError } from '../../src/plugins/errors';
import { create } from '../../src/catalog/open';
import { answerError, completeChain, reportedFromStatus, statusForm, uploadForm } from '../../src/plugins/servers/incapsula';
import type { PluginContext, ServerPlugin } from '../../src/plugins/types';
import { issueLeaf, makeCa, makeKey, makeTempDir, writeBlueprint, type TestCa } from '../helpers/pki';

const SUBJECT = 'incapsula:site 12345678';
const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');

/** A site status as Imperva answers it (the fields the plugin reads, and some it does not). */
const status = (custom: Record<string, unknown> | undefined) => ({
  site_id: 12345678,
  status: 'fully-configured',
  domain: 'Tst.Example.AutoSSL.com',
  ssl: { origin_server: { detected: true }, ...(custom && { custom_certificate: custom }), generated_certificate: { san: [] } },
  res: 0,
  res_message: 'OK',
  debug_info: { 'id-info': '13007' },
});

describe('incapsula: reading the site status', () => {
  it('reports the site domain and the expiry of the active custom certificate', () => {
    const reported = reportedFromStatus(SUBJECT, status({ active: true, expirationDate: 1552814263000, chainError: false }));
    assert.deepEqual(reported, { domains: ['tst.example.autossl.com'], notAfter: '2019-03-17T09:17:43.000Z' });
  });

  it('reports no certificate for a site without an active custom certificate', () => {
    assert.equal(reportedFromStatus(SUBJECT, status({ active: false })), null);
    assert.equal(reportedFromStatus(SUBJECT, status(undefined)), null);
  });

  it('refuses a status whose active certificate has no expiry', () => {
    assert.throws(
      () => reportedFromStatus(SUBJECT, status({ active: true })),
      (err: unknown) => err instanceof PluginIoError && /expirationDate/.test(err.message),
    );
  });
});

describe('incapsula: answers', () => {
  it('takes res 0, as a number or a string, as success', () => {
    assert.equal(answerError(SUBJECT, 'x', { res: 0 }), null);
    assert.equal(answerError(SUBJECT, 'x', { res: '0' }), null);
  });

  it('retries 3015 (internal error); bad credentials and unknown sites are not retryable, with a hint', () => {
    const internal = answerError(SUBJECT, 'uploading the certificate', { res: 3015, res_message: 'Internal error' });
    assert.ok(internal?.transient && internal.error instanceof PluginIoError && internal.error.retryable);
    assert.equal(internal.error.message, `${SUBJECT}: uploading the certificate failed with res 3015: Internal error`);
    const auth = answerError(SUBJECT, 'reading the site status', { res: '9411', res_message: 'Authentication missing or invalid' });
    assert.ok(auth && !auth.transient && auth.error instanceof PluginConfigError);
    assert.match(auth.error.message, /refused with res 9411: Authentication missing or invalid \(.*check the api_id and api_key/);
    const site = answerError(SUBJECT, 'reading the site status', { res: 9413, res_message: 'Unknown/unauthorized site_id' });
    assert.ok(site?.error instanceof PluginConfigError);
    assert.match(site.error.message, /res 9413: Unknown\/unauthorized site_id \(unknown or unauthorized site_id\)/);
  });

  it('leaves unknown codes to the activity retries, and a missing code is an I/O problem', () => {
    const unknown = answerError(SUBJECT, 'x', { res: 1, res_message: 'Unexpected error' });
    assert.ok(unknown && !unknown.transient && unknown.error instanceof PluginIoError);
    assert.ok(answerError(SUBJECT, 'x', { message: 'hello' })?.error instanceof PluginIoError);
  });

  it('never repeats a secret the server echoes back', () => {
    const echoed = answerError(SUBJECT, 'x', { res: 9411, res_message: 'bad key 6f4d1878-f2c6 for id 12345' }, ['6f4d1878-f2c6', '12345']);
    assert.equal(echoed?.error.message.includes('6f4d1878'), false);
    assert.equal(echoed?.error.message.includes('12345 '), false);
    assert.match(echoed!.error.message, /bad key \*\*\* for id \*\*\*/);
  });
});

describe('incapsula: the upload form', () => {
  let ca: TestCa;
  before(async () => {
    ca = await makeCa();
  });

  it('sends the site id, the full chain and the key in the traditional RSA form, base64, without auth_type', async () => {
    const leaf = await issueLeaf(ca, { domains: ['shop.example.test'], key: { type: 'rsa', bits: 2048 } });
    const form = uploadForm(4711, { key: leaf.keyPem, certificate: leaf.certPem.trim(), chain: [ca.certPem] });
    assert.deepEqual(Object.keys(form).sort(), ['certificate', 'private_key', 'site_id']);
    assert.equal(form.site_id, '4711');
    assert.equal(decode(form.certificate), `${leaf.certPem.trim()}\n${ca.certPem}`);
    const key = decode(form.private_key);
    assert.match(key, /^-----BEGIN RSA PRIVATE KEY-----\n/);
    assert.equal(
      createPrivateKey(key)
        .export({ format: 'der', type: 'pkcs8' })
        .equals(createPrivateKey(leaf.keyPem).export({ format: 'der', type: 'pkcs8' })),
      true,
    );
    assert.deepEqual(statusForm(4711), { site_id: '4711' });
  });

  it('says ECC for an EC key, sent in its SEC 1 form', async () => {
    const leaf = await issueLeaf(ca, { domains: ['shop.example.test'] });
    const form = uploadForm(4711, { key: leaf.keyPem, certificate: leaf.certPem, chain: [ca.certPem] });
    assert.equal(form.auth_type, 'ECC');
    assert.match(decode(form.private_key), /^-----BEGIN EC PRIVATE KEY-----\n/);
  });

  it("completes a chain that stops below the root from the blueprint's chain of trust", async () => {
    const intermediateKey = await makeKey();
    const { certPem: intermediate } = await issueLeaf(ca, { domains: ['intermediate.example.test'], keyPem: intermediateKey });
    // Only the order of issuers matters here: completeChain follows signatures, not CA flags.
    assert.deepEqual(completeChain([intermediate], [ca.certPem]), [intermediate, ca.certPem]);
    assert.deepEqual(completeChain([ca.certPem], [ca.certPem]), [ca.certPem], 'a root is not added twice');
    const other = await makeCa({ commonName: 'unrelated' });
    assert.deepEqual(completeChain([intermediate], [other.certPem]), [intermediate], 'an unrelated certificate is not added');
  });
});

describe('incapsula: blueprint and plugin set-up', () => {
  let dir: string;
  before(async () => {
    dir = await makeTempDir('autossl-incapsula-unit-');
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const blueprint = async (server: Record<string, unknown>, credentialType = 'ApiKeyAndId'): Promise<Blueprint> => {
    const file = await writeBlueprint(dir, {
      name: 'shop.example.test',
      servers: [server],
      certificate: { type: 'DV', certificate_authority: 'Manual', common_name: 'shop.example.test' },
      certificate_authorities: [{ key: 'Manual' }],
      storage: { type: 'local', parameters: { path: path.join(dir, 'storage') } },
      credentials: { incapsula: { type: credentialType } },
    });
    const [b] = await loadBlueprints({ blueprint: file });
    return b;
  };
  const context = (b: Blueprint): PluginContext => ({
    blueprint: b,
    credentials: { resolve: async () => ({ api_id: '12345', api_key: 'secret' }) },
    activity: () => undefined,
    staging: false,
    openStorage: async () => assert.fail('no storage'),
    openDnsProvider: async () => assert.fail('no DNS'),
  });
  const open = async (b: Blueprint): Promise<ServerPlugin> => create('server', b.servers[0].type, b.servers[0], context(b));

  it("loads the original's class path with site_id and credentials, and serves no HTTP-01 challenges", async () => {
    const b = await blueprint({ type: 'autossl.server.incapsula.IncapsulaSite', credentials: 'incapsula', parameters: { site_id: 12345678 } });
    assert.equal(b.servers[0].type, 'incapsula');
    const site = await open(b);
    assert.equal(site.describe(), 'incapsula:site 12345678');
    assert.equal(servesHttp01(site), false);
    await site.close();
  });

  it('refuses a quoted site_id, a missing one, and credentials of another type, naming them', async () => {
    await assert.rejects(
      blueprint({ type: 'incapsula', credentials: 'incapsula', parameters: { site_id: '12345678' } }),
      /site_id must be an integer/,
    );
    await assert.rejects(blueprint({ type: 'incapsula', credentials: 'incapsula', parameters: {} }), /missing parameter 'site_id'/);
    // The credential's presence and type are the spec's rule, checked at load with the blueprint's line.
    await assert.rejects(
      blueprint({ type: 'incapsula', credentials: 'incapsula', parameters: { site_id: 1 } }, 'UserPassword'),
      /credential 'incapsula' of servers\[0\] is UserPassword; expect type ApiKeyAndId/,
    );
    await assert.rejects(
      blueprint({ type: 'incapsula', parameters: { site_id: 1 } }),
      /missing credentials in servers\[0\]: server type 'incapsula' needs a ApiKeyAndId credential/,
    );
  });

  it('refuses a base_url that is not https, and a ca_bundle that cannot be read', async () => {
    // Checked at load now, with the blueprint's line.
    await assert.rejects(
      blueprint({ type: 'incapsula', credentials: 'incapsula', parameters: { site_id: 1, base_url: 'http://my.incapsula.com' } }),
      /must be an https:\/\/ URL/,
    );
    const missing = path.join(dir, 'missing.pem');
    const bundle = await blueprint({ type: 'incapsula', credentials: 'incapsula', parameters: { site_id: 1, ca_bundle: missing } });
    await assert.rejects(
      open(bundle),
      (err: unknown) => err instanceof PluginConfigError && err.message.includes(`cannot read ca_bundle ${missing} (ENOENT)`),
    );
  });

  it('is inspected as reported facts: coverage of the site domain, key and chain unknown', async () => {
    const b = await blueprint({ type: 'incapsula', credentials: 'incapsula', parameters: { site_id: 1 } });
    const fake = (domain: string): ServerPlugin => ({
      spec: b.servers[0] as ServerSpec,
      describe: () => 'incapsula:site 1',
      readCurrent: async () => ({ reported: { domains: [domain], notAfter: '2030-01-01T00:00:00.000Z' } }),
      deploy: async () => {},
      close: async () => {},
    });
    const facts = await serverFacts(b, b.servers[0].id, fake('shop.example.test'));
    assert.deepEqual(facts.certificate, {
      reported: true,
      serial: null,
      issuer: null,
      notBefore: null,
      notAfter: '2030-01-01T00:00:00.000Z',
      domains: ['shop.example.test'],
      coverage: { ok: true, missing: [], extra: [] },
      keyMatches: null,
      chain: null,
    });
    const elsewhere = await serverFacts(b, b.servers[0].id, fake('other.example.test'));
    assert.deepEqual(elsewhere.certificate?.coverage, { ok: false, missing: ['other.example.test'], extra: [] });
  });
});

describe('HTTPS after reading certificates', () => {
  it('still works in a process that parsed a certificate before it first loaded tls', async () => {
    const ca = await makeCa();
    // A fresh process: this one has loaded tls long ago.
    const script = `
      const { loadCertificate, commonNameOf } = require(${JSON.stringify(path.resolve(__dirname, '../../src/x509/certificate'))});
      commonNameOf(loadCertificate(${JSON.stringify(ca.certPem)}));
      process.stdout.write(typeof require('node:tls').createSecureContext);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script]);
    assert.equal(stdout, 'function');
  });
});

describe('challenge ledger with a server that serves no challenges', () => {
  it('passes it through as it is and never asks it to remove a token', async () => {
    const calls: string[] = [];
    const spec: ServerSpec = { type: 'fake', declaredType: 'fake', parameters: {}, id: 'fake', crtName: 'x' };
    const proxy: ServerPlugin = { spec, describe: () => 'proxy', readCurrent: async () => null, deploy: async () => {}, close: async () => {} };
    const origin: ServerPlugin = {
      ...proxy,
      describe: () => 'origin',
      putChallenge: async (token) => void calls.push(`put ${token}`),
      removeChallenge: async (token) => void calls.push(`remove ${token}`),
    };
    const ledger = new ChallengeLedger(() => undefined);
    await ledger.removeLeftovers({ tokens: ['old'] }, [proxy, origin]);
    const [trackedProxy, trackedOrigin] = ledger.track([proxy, origin]);
    assert.equal(trackedProxy, proxy);
    assert.ok(servesHttp01(trackedOrigin));
    await trackedOrigin.putChallenge('tok', 'ka');
    assert.deepEqual(calls, ['remove old', 'put tok']);
    assert.deepEqual(ledger.details().tokens, ['tok']);
  });
});
