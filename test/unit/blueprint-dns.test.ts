// The `dns` section of certificates and certificate authorities: what the loader keeps, what it refuses (with
// file and line), and which section a DNS provider is opened from.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { BlueprintError, formatIssue } from '../../src/blueprint/errors';
import { loadBlueprints } from '../../src/catalog';
import { blueprintSchema } from '../../src/catalog/schema';
import type { Blueprint } from '../../src/blueprint/types';
import { openDnsProvider } from '../../src/plugins/dns';
import { CATALOG, builtInNames } from '../../src/catalog';
import { parseHostPort } from '../../src/plugins/dns/names';
import { PluginConfigError } from '../../src/plugins/errors';
import { certificateAuthority, pluginContext } from '../../src/catalog/open';

const DNS_PROVIDERS = CATALOG.entries('dns');
const DNS_PROVIDER_NAMES = builtInNames('dns');

const CA_DNS = `{ provider: rfc2136, credentials: tsig, parameters: { server: '192.0.2.2', zone: example.test } }`;

/** A blueprint with `certificateDns` under certificate: and `caDns` under its CA (YAML text or nothing). */
const blueprintText = (certificateDns: string | undefined, caDns: string | undefined = undefined, credentials = 'tsig: { type: ApiKeyAndId }') =>
  `name: dns.example.test
certificate:
  type: DV
  certificate_authority: Pebble
  common_name: example.test
  san: ['*.example.test']
${certificateDns === undefined ? '' : `  dns: ${certificateDns}\n`}certificate_authorities:
  - key: Pebble
${caDns === undefined ? '' : `    dns: ${caDns}\n`}credentials:
  ${credentials}
`;

describe('blueprint dns section', () => {
  let dir: string;
  let count = 0;

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-dns-blueprint-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  async function write(text: string): Promise<string> {
    const file = path.join(dir, `b${count++}.yaml`);
    await fs.writeFile(file, text);
    return file;
  }

  const load = async (text: string): Promise<Blueprint> => (await loadBlueprints({ blueprint: await write(text), env: {} }))[0];

  /** The issues of a bad blueprint as `line: message`, the file checked once. */
  async function issues(text: string): Promise<string[]> {
    const file = await write(text);
    const error = await loadBlueprints({ blueprint: file, env: {} }).then(
      () => assert.fail('expected a BlueprintError'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof BlueprintError, String(error));
    for (const issue of error.issues) assert.equal(issue.file, file, formatIssue(issue));
    return error.issues.map((i) => `${i.line}: ${i.message}`);
  }

  it('keeps the certificate and CA sections, provider parameters as written', async () => {
    const b = await load(
      blueprintText(
        `{ provider: rfc2136, credentials: tsig, parameters: { server: '127.0.0.1:5353', tsig_key_name: k1, tsig_algorithm: hmac-sha512, ttl: 30, propagation_timeout: 10 } }`,
        CA_DNS,
      ),
    );
    assert.deepEqual(b.certificate.dns, {
      provider: 'rfc2136',
      credentials: 'tsig',
      parameters: { server: '127.0.0.1:5353', tsig_key_name: 'k1', tsig_algorithm: 'hmac-sha512', ttl: 30, propagation_timeout: 10 },
    });
    assert.deepEqual(certificateAuthority(b).dns, {
      provider: 'rfc2136',
      credentials: 'tsig',
      parameters: { server: '192.0.2.2', zone: 'example.test' },
    });
    assert.equal((await load(blueprintText(undefined))).certificate.dns, undefined);
  });

  it('refuses an unknown provider with a suggestion, at its line', async () => {
    assert.deepEqual(await issues(blueprintText(`{ provider: rfc2163, credentials: tsig, parameters: { server: ns1 } }`)), [
      "7: certificate.dns.provider is 'rfc2163'; expect one of rfc2136 (did you mean 'rfc2136'?)",
    ]);
  });

  it('checks the parameters of the provider: names, required, types and values', async () => {
    const found = await issues(
      blueprintText(
        `{ provider: rfc2136, credentials: tsig, parameters: { zone: '*.example.test', tsig_algorithm: hmac-md5, ttl: 0, propagation_timeout: soon, sever: x } }`,
        `{ provider: rfc2136, credentials: tsig, parameters: { server: 'ns1:99999' } }`,
      ),
    );
    assert.deepEqual(
      found.sort(),
      [
        '10: certificate_authorities[0].dns.parameters.server must be host or host:port (an IPv6 address in [brackets] with a port)',
        '7: certificate.dns.parameters.propagation_timeout must be an integer, not text',
        "7: certificate.dns.parameters.tsig_algorithm is 'hmac-md5'; expect one of hmac-sha256, hmac-sha512, hmac-sha1",
        '7: certificate.dns.parameters.ttl must be 1 or more',
        '7: certificate.dns.parameters.zone is not a DNS zone name',
        "7: missing parameter 'server' in certificate.dns.parameters (required by dns provider 'rfc2136')",
        "7: unknown parameter 'sever' in certificate.dns.parameters of dns provider 'rfc2136' (did you mean 'server'?)",
      ].sort(),
    );
  });

  it('needs a declared credential of type ApiKeyAndId', async () => {
    assert.deepEqual(await issues(blueprintText(`{ provider: rfc2136, parameters: { server: ns1 } }`)), [
      "7: missing credentials in certificate.dns: dns provider 'rfc2136' needs a ApiKeyAndId credential",
    ]);
    assert.deepEqual(
      await issues(blueprintText(`{ provider: rfc2136, credentials: tsig, parameters: { server: ns1 } }`, undefined, 'tsig: { type: UserPassword }')),
      ["7: credential 'tsig' of certificate.dns is UserPassword; expect type ApiKeyAndId"],
    );
    assert.deepEqual(await issues(blueprintText(`{ provider: rfc2136, credentials: tsg, parameters: { server: ns1 } }`)), [
      "7: credential 'tsg' of certificate.dns is missing from credentials: (did you mean 'tsig'?)",
    ]);
  });

  it('refuses unknown keys in the section', async () => {
    assert.deepEqual(await issues(blueprintText(`{ provider: rfc2136, credential: tsig, parameters: { server: ns1 } }`)), [
      "7: unknown key 'credential' in certificate.dns (did you mean 'credentials'?)",
      "7: missing credentials in certificate.dns: dns provider 'rfc2136' needs a ApiKeyAndId credential",
    ]);
  });

  it('reads the server as host, host:port, [IPv6]:port or a bare IPv6 address', () => {
    assert.deepEqual(parseHostPort('ns1.example.test', 53), { host: 'ns1.example.test', port: 53 });
    assert.deepEqual(parseHostPort('127.0.0.1:5353', 53), { host: '127.0.0.1', port: 5353 });
    assert.deepEqual(parseHostPort('[2001:db8::1]:5300', 53), { host: '2001:db8::1', port: 5300 });
    assert.deepEqual(parseHostPort('::1', 53), { host: '::1', port: 53 });
    for (const bad of ['ns1:0', 'ns1:65536', '[ns1]:53', '[::1', 'ns1:', 'ns 1', 'http://ns1', '']) assert.equal(parseHostPort(bad, 53), null, bad);
  });

  it('is in the JSON schema under certificate and each CA, with the parameters of each provider', () => {
    const defs = (blueprintSchema() as { $defs: Record<string, any> }).$defs;
    for (const section of ['certificate', 'certificateAuthority']) {
      assert.deepEqual(defs[section].properties.dns.anyOf[0], { $ref: '#/$defs/dns' });
    }
    assert.deepEqual(defs.dns.properties.provider.enum, DNS_PROVIDER_NAMES);
    for (const provider of DNS_PROVIDERS) {
      const rule = defs.dns.allOf.find((c: any) => c.if.properties.provider.enum.includes(provider.name));
      assert.ok(rule, `no parameters rule for dns provider ${provider.name}`);
      assert.deepEqual(Object.keys(rule.then.properties.parameters.properties), Object.keys(provider.parameters));
    }
  });

  describe('openDnsProvider', () => {
    const env = { TSIG_API_KEY: Buffer.from('a secret of some length').toString('base64'), TSIG_API_ID: 'key-1' };
    const open = (b: Blueprint) =>
      openDnsProvider(
        b,
        certificateAuthority(b),
        pluginContext(b, { staging: false, credentialsFor: (bp) => createCredentialResolver({ specs: bp.credentials, env }) }),
      );

    /** Which server a provider talks to, told by the error of a name outside its zone (no packet is sent). */
    async function serverOf(b: Blueprint): Promise<string> {
      const provider = await open(b);
      assert.ok(provider);
      const error = await provider.present('_acme-challenge.elsewhere.test', 'v').then(
        () => assert.fail('expected an error'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof PluginConfigError, String(error));
      return error.subject;
    }

    it('is null without any dns section', async () => {
      assert.equal(await open(await load(blueprintText(undefined))), null);
    });

    it("uses the CA's section, and the certificate's when it has one", async () => {
      assert.equal(await serverOf(await load(blueprintText(undefined, CA_DNS))), 'dns rfc2136 192.0.2.2:53');
      const own = `{ provider: rfc2136, credentials: tsig, parameters: { server: '[::1]:5300', zone: example.test } }`;
      assert.equal(await serverOf(await load(blueprintText(own, CA_DNS))), 'dns rfc2136 [::1]:5300');
    });

    it('refuses a TSIG secret that is not base64, without repeating it', async () => {
      const b = await load(blueprintText(undefined, CA_DNS));
      const ctx = pluginContext(b, {
        staging: false,
        credentialsFor: (bp) => createCredentialResolver({ specs: bp.credentials, env: { TSIG_API_KEY: 'not base64!', TSIG_API_ID: 'k' } }),
      });
      await assert.rejects(openDnsProvider(b, certificateAuthority(b), ctx), (e: unknown) => {
        assert.ok(e instanceof PluginConfigError, String(e));
        assert.match(e.message, /api_key of credential 'tsig' is not a base64 TSIG secret/);
        assert.ok(!e.message.includes('not base64!'));
        return true;
      });
    });
  });
});
