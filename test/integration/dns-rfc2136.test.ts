// The rfc2136 DNS provider against a real BIND 9 on loopback: signed updates, visibility, clean-up, and the
// errors a person meets when the key or the zone is wrong.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import dgram from 'node:dgram';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import { PluginConfigError, PluginIoError } from '../../src/plugins/errors';
import { openDnsProvider, type DnsProvider } from '../../src/plugins/dns';
import { Rfc2136Provider } from '../../src/plugins/dns/rfc2136';
import { TSIG_ALGORITHMS } from '../../src/plugins/dns/rfc2136/wire';
import { certificateAuthority, pluginContext } from '../../src/catalog/open';
import { startBind, type TestBind } from '../helpers/bind';

const execFileAsync = promisify(execFile);

describe('rfc2136 DNS provider against BIND', () => {
  let bind: TestBind;
  let dir: string;
  const opened: DnsProvider[] = [];

  before(async () => {
    bind = await startBind();
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-dns-'));
  });

  after(async () => {
    await Promise.all(opened.map((p) => p.close()));
    await bind?.stop();
    if (dir) await fs.rm(dir, { recursive: true, force: true });
  });

  /** A blueprint whose certificate has a `dns` section with `parameters` (YAML flow mapping text). */
  async function blueprint(parameters: string): Promise<Blueprint> {
    const file = path.join(dir, `dns-${opened.length}-${Date.now()}.yaml`);
    await fs.writeFile(
      file,
      `name: dns.example.test
certificate:
  type: DV
  certificate_authority: Manual
  common_name: example.test
  san: ['*.example.test']
  dns: { provider: rfc2136, credentials: tsig, parameters: ${parameters} }
certificate_authorities:
  - key: Manual
credentials:
  tsig: { type: ApiKeyAndId }
`,
    );
    return (await loadBlueprints({ blueprint: file, env: {} }))[0];
  }

  /** A provider from a loaded blueprint; SERVER in `parameters` stands for BIND's address. */
  async function open(parameters = "{ server: 'SERVER' }", secret?: string): Promise<DnsProvider> {
    const b = await blueprint(parameters.replace('SERVER', bind.server));
    const env = { TSIG_API_KEY: secret ?? bind.secret, TSIG_API_ID: bind.keyName };
    const ctx = pluginContext(b, { staging: false, credentialsFor: (bp) => createCredentialResolver({ specs: bp.credentials, env }) });
    const provider = await openDnsProvider(b, certificateAuthority(b), ctx);
    assert.ok(provider, 'a dns section opens a provider');
    opened.push(provider);
    return provider;
  }

  /** TXT values as BIND answers them to a resolver that is not the code under test. */
  async function txt(name: string): Promise<string[]> {
    try {
      return (await bind.resolver.resolveTxt(name)).map((chunks) => chunks.join(''));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENODATA' || (e as NodeJS.ErrnoException).code === 'ENOTFOUND') return [];
      throw e;
    }
  }

  async function dig(name: string): Promise<string> {
    const { stdout } = await execFileAsync('dig', ['@127.0.0.1', '-p', String(bind.port), '+noall', '+answer', 'TXT', name]);
    return stdout;
  }

  it('present() returns with the TXT record visible (node resolver and dig), with the TTL asked for; cleanup() removes it', async () => {
    const provider = await open(`{ server: 'SERVER', ttl: 42 }`);
    const value = 'Xq5y0G3f3c0k8Qh5l0bX1m3d6rWJm0tQ8JZK9b7lVZk';
    await provider.present('_acme-challenge.example.test', value);
    assert.deepEqual(await txt('_acme-challenge.example.test'), [value]);
    const answer = await dig('_acme-challenge.example.test');
    assert.match(answer, new RegExp(`^_acme-challenge\\.example\\.test\\.\\s+42\\s+IN\\s+TXT\\s+"${value}"$`, 'm'), answer);

    await provider.cleanup('_acme-challenge.example.test', value);
    assert.deepEqual(await txt('_acme-challenge.example.test'), []);
    assert.equal(await dig('_acme-challenge.example.test'), '');
  });

  it('two values at one name (wildcard and apex) coexist and are removed one by one', async () => {
    const provider = await open();
    const [apex, wildcard] = ['apex-value-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'wildcard-value-bbbbbbbbbbbbbbbbbbbbbbbbbbbb'];
    await provider.present('_acme-challenge.example.test.', apex);
    await provider.present('_acme-challenge.example.test', wildcard);
    assert.deepEqual((await txt('_acme-challenge.example.test')).sort(), [apex, wildcard].sort());

    await provider.cleanup('_acme-challenge.example.test', apex);
    assert.deepEqual(await txt('_acme-challenge.example.test'), [wildcard]);
    await provider.cleanup('_acme-challenge.example.test', wildcard);
    assert.deepEqual(await txt('_acme-challenge.example.test'), []);
  });

  it('signs with each TSIG algorithm offered (hmac-sha256, hmac-sha512, hmac-sha1)', async () => {
    assert.deepEqual(bind.keys.map((k) => k.algorithm).sort(), [...TSIG_ALGORITHMS].sort());
    for (const key of bind.keys) {
      const provider = await open(`{ server: 'SERVER', tsig_key_name: ${key.name}, tsig_algorithm: ${key.algorithm} }`, key.secret);
      await provider.present('_acme-challenge.example.test', key.algorithm);
      assert.deepEqual(await txt('_acme-challenge.example.test'), [key.algorithm]);
      await provider.cleanup('_acme-challenge.example.test', key.algorithm);
      assert.deepEqual(await txt('_acme-challenge.example.test'), []);
    }
  });

  it('finds the zone of a deeper name with an SOA query, and honours an explicit zone', async () => {
    const found = await open();
    await found.present('_acme-challenge.www.sub.example.test', 'deep-value');
    assert.deepEqual(await txt('_acme-challenge.www.sub.example.test'), ['deep-value']);
    await found.cleanup('_acme-challenge.www.sub.example.test', 'deep-value');
    assert.deepEqual(await txt('_acme-challenge.www.sub.example.test'), []);

    const explicit = await open(`{ server: 'SERVER', zone: Example.Test. }`);
    await explicit.present('_acme-challenge.example.test', 'explicit-zone');
    assert.deepEqual(await txt('_acme-challenge.example.test'), ['explicit-zone']);
    await explicit.cleanup('_acme-challenge.example.test', 'explicit-zone');
    await assert.rejects(explicit.present('_acme-challenge.other.test', 'x'), (e: unknown) => {
      assert.ok(e instanceof PluginConfigError, String(e));
      assert.match(e.message, /_acme-challenge\.other\.test is not in zone example\.test/);
      return true;
    });
    await assert.rejects(explicit.present(`_acme-challenge.${'a'.repeat(64)}.example.test`, 'x'), (e: unknown) => {
      assert.ok(e instanceof PluginConfigError, String(e));
      assert.match(e.message, /is not a DNS name/);
      return true;
    });
  });

  it('answers larger than a UDP message are read over TCP', async () => {
    const provider = await open(`{ server: 'SERVER', propagation_timeout: 3 }`);
    const values = Array.from({ length: 16 }, (_, i) => `${String(i).padStart(2, '0')}-${'v'.repeat(41)}`);
    // 16 records of ~60 bytes do not fit the 512 bytes of a DNS answer over UDP without EDNS.
    for (const value of values) await provider.present('_acme-challenge.big.example.test', value);
    assert.deepEqual((await txt('_acme-challenge.big.example.test')).sort(), values);
    for (const value of values) await provider.cleanup('_acme-challenge.big.example.test', value);
    assert.deepEqual(await txt('_acme-challenge.big.example.test'), []);
  });

  it('a wrong TSIG secret is a configuration error naming BADSIG, the server and the key, never the secret', async () => {
    const wrong = Buffer.from('not the secret of this key, not at all').toString('base64');
    const provider = await open(undefined, wrong);
    const error = await provider.present('_acme-challenge.example.test', 'never-added').then(
      () => assert.fail('a wrong secret must fail'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof PluginConfigError, String(error));
    assert.equal(error.retryable, false);
    assert.match(error.message, /BADSIG/);
    assert.ok(error.message.includes(bind.server) && error.message.includes(bind.keyName), error.message);
    for (const secret of [wrong, bind.secret]) assert.ok(!error.message.includes(secret) && !error.stack?.includes(secret));
    assert.deepEqual(await txt('_acme-challenge.example.test'), []);
  });

  it('an unknown key name is BADKEY; a zone the server does not serve is REFUSED', async () => {
    const b = await blueprint(`{ server: '${bind.server}', tsig_key_name: no-such-key }`);
    const env = { TSIG_API_KEY: bind.secret };
    const ctx = pluginContext(b, { staging: false, credentialsFor: (bp) => createCredentialResolver({ specs: bp.credentials, env }) });
    const unknownKey = (await openDnsProvider(b, certificateAuthority(b), ctx))!;
    await assert.rejects(unknownKey.present('_acme-challenge.example.test', 'x'), (e: unknown) => {
      assert.ok(e instanceof PluginConfigError, String(e));
      assert.match(e.message, /key 'no-such-key'.*\(BADKEY\)/);
      return true;
    });

    const provider = await open();
    await assert.rejects(provider.present('_acme-challenge.elsewhere.test', 'x'), (e: unknown) => {
      assert.ok(e instanceof PluginConfigError, String(e));
      assert.match(e.message, /_acme-challenge\.elsewhere\.test.*\(REFUSED\)/);
      return true;
    });
  });

  it('an answer altered on the way fails TSIG verification and is not believed', async () => {
    // A relay between the provider and BIND that alters every answer, as an attacker on the path could.
    const relay = dgram.createSocket('udp4');
    relay.on('message', (query, client) => {
      const upstream = dgram.createSocket('udp4');
      upstream.on('message', (answer) => {
        const forged = Buffer.from(answer);
        // Flips the RD bit of the header: a change the MAC covers and nothing else checks.
        forged[2] ^= 0x01;
        relay.send(forged, client.port, client.address, () => upstream.close());
      });
      upstream.send(query, bind.port, '127.0.0.1');
    });
    await new Promise<void>((resolve) => relay.bind(0, '127.0.0.1', resolve));
    try {
      const provider = await open(`{ server: '127.0.0.1:${relay.address().port}', zone: example.test }`);
      await assert.rejects(provider.present('_acme-challenge.example.test', 'relayed'), (e: unknown) => {
        assert.ok(e instanceof PluginIoError, String(e));
        assert.match(e.message, /failed TSIG verification with key '.*' \(hmac-sha256\) \(bad signature\)/);
        return true;
      });
    } finally {
      relay.close();
    }
    // The update itself reached BIND; only the answer was forged.
    assert.deepEqual(await txt('_acme-challenge.example.test'), ['relayed']);
    await (await open()).cleanup('_acme-challenge.example.test', 'relayed');
  });

  it('a server that does not answer is a retryable I/O error', async () => {
    // A socket that reads and never answers: the update is lost, as in a network outage.
    const blackHole = dgram.createSocket('udp4');
    await new Promise<void>((resolve) => blackHole.bind(0, '127.0.0.1', resolve));
    const silent = new Rfc2136Provider({
      server: { host: '127.0.0.1', port: blackHole.address().port },
      zone: 'example.test',
      key: { name: bind.keyName, algorithm: 'hmac-sha256', secret: Buffer.from(bind.secret, 'base64') },
      ttl: 60,
      propagationTimeoutMs: 1000,
      attemptTimeoutMs: 100,
    });
    await assert.rejects(silent.present('_acme-challenge.example.test', 'x'), (e: unknown) => {
      assert.ok(e instanceof PluginIoError, String(e));
      assert.equal(e.retryable, true);
      assert.match(e.message, /add TXT _acme-challenge\.example\.test in zone example\.test: no answer after 3 tries/);
      return true;
    });
    blackHole.close();
  });
});
