import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import type { ArtifactKind, Blueprint, CertificateAuthoritySpec } from '../../src/blueprint/types';
import { create } from '../../src/catalog/open';
import { createLocalCa as localCaFactory } from '../../src/plugins/ca/local-ca';
import { createLocalStorage } from '../../src/plugins/storage/local';
import { findPlugin } from '../../src/catalog';
import type { CaPlugin, PluginContext, StoragePlugin } from '../../src/plugins/types';
import { createCsr, createSelfSignedCa, daysLeft, describeKey, generatePrivateKey, parseCertificate, verifyChain } from '../../src/x509';

// Through the catalog, as the worker opens it: the spec's defaults filled in.
const createLocalCa = (spec: CertificateAuthoritySpec, ctx: PluginContext): Promise<CaPlugin> => create('ca', spec.type, spec, ctx);

/** Artifacts in a map, with a log of writes. */
class MemoryStorage implements StoragePlugin {
  readonly files = new Map<string, string>();
  readonly writes: string[] = [];
  stores(): boolean {
    return true;
  }
  async get(name: string, kind: ArtifactKind): Promise<string | null> {
    return this.getFile(`${name}.${kind}`);
  }
  async put(name: string, kind: ArtifactKind, content: string): Promise<void> {
    this.write(`${name}.${kind}`, content);
  }
  async create(name: string, kind: ArtifactKind, content: string): Promise<string> {
    return this.createFile(`${name}.${kind}`, kind, content);
  }
  async remove(name: string, kind: ArtifactKind): Promise<void> {
    this.files.delete(`${name}.${kind}`);
  }
  async getFile(file: string): Promise<string | null> {
    return this.files.get(file) ?? null;
  }
  async createFile(file: string, _kind: ArtifactKind, content: string): Promise<string> {
    if (!this.files.has(file)) this.write(file, content);
    return this.files.get(file)!;
  }
  write(file: string, content: string): void {
    this.files.set(file, content);
    this.writes.push(file);
  }
  async close(): Promise<void> {}
}

function caSpec(parameters: Record<string, unknown>, withStorage = true): CertificateAuthoritySpec {
  return {
    name: 'Internal',
    key: 'internal',
    type: 'local-ca',
    declaredType: 'autossl.ca_manager.local.LocalCa',
    certificateTypes: ['DV'],
    storage: withStorage ? { type: 'memory', declaredType: 'memory', parameters: {} } : undefined,
    chainOfTrust: [],
    parameters: { ca_private_key: 'internal-ca', ca_certificate: 'internal-ca', ...parameters },
  };
}

function context(storage: StoragePlugin): PluginContext {
  return {
    blueprint: {} as Blueprint,
    credentials: { resolve: async () => ({}) },
    activity: () => undefined,
    staging: false,
    openStorage: async () => storage,
    openDnsProvider: async () => assert.fail('no DNS'),
  };
}

let csr: string;

before(async () => {
  const key = await generatePrivateKey({ type: 'ec', curve: 'P-256' });
  csr = await createCsr({ keyPem: key, commonName: 'app.internal.example', domains: ['api.internal.example'] });
});

const issue = (ca: CaPlugin) => ca.issue({ csr, blueprint: {} as Blueprint, servers: [] });

describe('local-ca', () => {
  it('issues from the CA key and certificate held in the CA storage, for 90 days by default', async () => {
    const storage = new MemoryStorage();
    const caKey = await generatePrivateKey({ type: 'ec', curve: 'P-384' });
    const caCert = await createSelfSignedCa({ keyPem: caKey, commonName: 'Existing CA', validityDays: 365 });
    await storage.put('internal-ca', 'key', caKey);
    await storage.put('internal-ca', 'crt', caCert);
    const ca = await createLocalCa(caSpec({}), context(storage));
    const issued = await issue(ca);
    assert.deepEqual(issued.chain, [caCert]);
    assert.deepEqual(verifyChain(issued.certificate, issued.chain), { ok: true });
    const info = parseCertificate(issued.certificate);
    assert.deepEqual(info.domains, ['app.internal.example', 'api.internal.example']);
    assert.equal(info.issuer, 'CN=Existing CA');
    assert.equal(daysLeft(info.notAfter, new Date()), 89);
    assert.deepEqual(storage.writes, ['internal-ca.key', 'internal-ca.crt'], 'the plugin wrote nothing');
  });

  it('honours certificate_validity_days', async () => {
    const storage = new MemoryStorage();
    const ca = await createLocalCa(caSpec({ certificate_validity_days: 7, create_if_missing: true }), context(storage));
    assert.equal(daysLeft(parseCertificate((await issue(ca)).certificate).notAfter, new Date()), 6);
  });

  it('with create_if_missing, creates the CA once in the CA storage and reuses it', async () => {
    const storage = new MemoryStorage();
    const first = await issue(await createLocalCa(caSpec({ create_if_missing: true }), context(storage)));
    assert.deepEqual(storage.writes, ['internal-ca.key', 'internal-ca.crt']);
    const caCert = storage.files.get('internal-ca.crt')!;
    assert.deepEqual(describeKey(storage.files.get('internal-ca.key')!), { type: 'ec', curve: 'P-256' });
    const root = parseCertificate(caCert);
    assert.deepEqual([root.commonName, root.isCa, root.selfSigned], ['Internal Local CA', true, true]);
    assert.ok(daysLeft(root.notAfter, new Date()) >= 3649, root.notAfter);

    const second = await issue(await createLocalCa(caSpec({ create_if_missing: true }), context(storage)));
    assert.equal(storage.writes.length, 2, 'nothing created the second time');
    for (const issued of [first, second]) {
      assert.deepEqual(issued.chain, [caCert]);
      assert.deepEqual(verifyChain(issued.certificate, [caCert]), { ok: true });
    }
  });

  it("reads AutoSSL's layout, CA files named exactly as ca_private_key and ca_certificate, and writes nothing", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-local-ca-'));
    try {
      const caKey = await generatePrivateKey({ type: 'rsa', bits: 2048 });
      const caCert = await createSelfSignedCa({ keyPem: caKey, commonName: 'AutoSSL', validityDays: 365 });
      await fs.writeFile(path.join(dir, 'autossl_ca.key'), caKey, { mode: 0o600 });
      await fs.writeFile(path.join(dir, 'autossl_ca.crt'), caCert);
      const spec = caSpec({ ca_private_key: 'autossl_ca.key', ca_certificate: 'autossl_ca.crt' });
      const local = { ...spec, storage: { type: 'local', declaredType: 'local', parameters: { path: dir } } };
      const issued = await issue(await createLocalCa(local, context(await createLocalStorage(local.storage, {} as never))));
      assert.deepEqual(issued.chain, [caCert]);
      assert.equal(parseCertificate(issued.certificate).issuer, 'CN=AutoSSL');
      assert.deepEqual((await fs.readdir(dir)).sort(), ['autossl_ca.crt', 'autossl_ca.key']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('prefers the file named exactly over <name>.<kind> when both exist', async () => {
    const storage = new MemoryStorage();
    const [exactKey, baseKey] = await Promise.all([1, 2].map(() => generatePrivateKey({ type: 'ec', curve: 'P-256' })));
    storage.write('ca', exactKey);
    storage.write('ca.key', baseKey);
    storage.write('ca.crt', await createSelfSignedCa({ keyPem: exactKey, commonName: 'Exact CA', validityDays: 30 }));
    const issued = await issue(await createLocalCa(caSpec({ ca_private_key: 'ca', ca_certificate: 'ca.crt' }), context(storage)));
    assert.equal(parseCertificate(issued.certificate).issuer, 'CN=Exact CA');
  });

  it('creates a missing CA under a file name as written, under a bare name as <name>.key and <name>.crt', async () => {
    const named = new MemoryStorage();
    await issue(
      await createLocalCa(caSpec({ ca_private_key: 'autossl_ca.key', ca_certificate: 'autossl_ca.pem', create_if_missing: true }), context(named)),
    );
    assert.deepEqual(named.writes, ['autossl_ca.key', 'autossl_ca.pem']);
    const bare = new MemoryStorage();
    await issue(await createLocalCa(caSpec({ ca_private_key: 'lab-ca', ca_certificate: 'lab-ca', create_if_missing: true }), context(bare)));
    assert.deepEqual(bare.writes, ['lab-ca.key', 'lab-ca.crt']);
  });

  it('refuses ca_private_key and ca_certificate naming one and the same file', async () => {
    await assert.rejects(async () => createLocalCa(caSpec({ ca_private_key: 'ca.pem', ca_certificate: 'ca.pem' }), context(new MemoryStorage())), {
      name: 'PluginConfigError',
      message: "certificate authority 'Internal' (local-ca): ca_private_key and ca_certificate both name the file 'ca.pem'; give each its own file",
    });
  });

  it('bootstraps one CA when several lifecycles need it at the same moment', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-local-ca-'));
    try {
      const spec = caSpec({ create_if_missing: true });
      const local = { ...spec, storage: { type: 'local', declaredType: 'local', parameters: { path: dir } } };
      const issued = await Promise.all(
        Array.from({ length: 6 }, async () => issue(await createLocalCa(local, context(await createLocalStorage(local.storage, {} as never))))),
      );
      const stored = await fs.readFile(path.join(dir, 'internal-ca.crt'), 'utf8');
      for (const { certificate, chain } of issued) {
        assert.deepEqual(chain, [stored]);
        assert.deepEqual(verifyChain(certificate, [stored]), { ok: true });
      }
      assert.deepEqual((await fs.readdir(dir)).sort(), ['internal-ca.crt', 'internal-ca.key'], 'no temporary file left');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('names a created CA after ca_common_name', async () => {
    const storage = new MemoryStorage();
    await issue(await createLocalCa(caSpec({ create_if_missing: true, ca_common_name: 'Lab Root' }), context(storage)));
    assert.equal(parseCertificate(storage.files.get('internal-ca.crt')!).commonName, 'Lab Root');
  });

  it('without create_if_missing, a missing CA is a clear error naming the CA, the storage and the files', async () => {
    const storage = new MemoryStorage();
    const ca = await createLocalCa(caSpec({}), context(storage));
    await assert.rejects(issue(ca), {
      name: 'PluginConfigError',
      message:
        "certificate authority 'Internal' (local-ca): CA key 'internal-ca' or 'internal-ca.key' and certificate 'internal-ca' or 'internal-ca.crt' not found in " +
        'the CA storage (memory); provide the CA files there, or set create_if_missing: true to create a new CA',
    });
    assert.deepEqual(storage.writes, []);
  });

  it('never replaces a CA certificate whose key is missing', async () => {
    const storage = new MemoryStorage();
    const caKey = await generatePrivateKey({ type: 'ec', curve: 'P-256' });
    await storage.put('internal-ca', 'crt', await createSelfSignedCa({ keyPem: caKey, commonName: 'Lost Key CA', validityDays: 30 }));
    const ca = await createLocalCa(caSpec({ create_if_missing: true }), context(storage));
    await assert.rejects(issue(ca), { name: 'PluginConfigError', message: /key 'internal-ca' or 'internal-ca\.key' not found .* restore the key/ });
    assert.deepEqual(storage.writes, ['internal-ca.crt']);
  });

  it("refuses a CA without storage, and a stored key that is not the certificate's, without quoting the key", async () => {
    await assert.rejects(async () => createLocalCa(caSpec({}, false), context(new MemoryStorage())), {
      name: 'PluginConfigError',
      message: /^certificate authority 'Internal' \(local-ca\): has no storage/,
    });
    const storage = new MemoryStorage();
    const [key, otherKey] = await Promise.all([1, 2].map(() => generatePrivateKey({ type: 'ec', curve: 'P-256' })));
    await storage.put('internal-ca', 'key', otherKey);
    await storage.put('internal-ca', 'crt', await createSelfSignedCa({ keyPem: key, commonName: 'Mismatched CA', validityDays: 30 }));
    await assert.rejects(issue(await createLocalCa(caSpec({}), context(storage))), (err: Error) => {
      assert.equal(err.name, 'PluginConfigError');
      assert.equal(
        err.message,
        "certificate authority 'Internal' (local-ca): the CA private key does not belong to the CA certificate 'Mismatched CA'",
      );
      assert.ok(!err.message.includes(otherKey.split('\n')[1].slice(0, 16)));
      return true;
    });
  });

  it('refuses to issue from an expired CA, saying so', async () => {
    const storage = new MemoryStorage();
    const key = await generatePrivateKey({ type: 'ec', curve: 'P-256' });
    const longAgo = new Date(Date.now() - 100 * 86_400_000);
    const old = await createSelfSignedCa({ keyPem: key, commonName: 'Old CA', validityDays: 30, now: longAgo });
    await storage.put('internal-ca', 'key', key);
    await storage.put('internal-ca', 'crt', old);
    await assert.rejects(issue(await createLocalCa(caSpec({}), context(storage))), {
      name: 'PluginConfigError',
      message:
        "certificate authority 'Internal' (local-ca): issued a certificate that does not verify: " +
        `'Old CA' expired on ${parseCertificate(old).notAfter}`,
    });
  });

  it('is listed in the catalogue with its bootstrap parameters', () => {
    const entry = findPlugin('ca', 'autossl.ca_manager.local.LocalCa');
    assert.equal(entry?.name, 'local-ca');
    assert.equal(entry?.parameters.create_if_missing?.type, 'boolean');
    assert.equal(entry?.parameters.ca_common_name?.type, 'string');
    assert.equal(entry?.load?.(), localCaFactory);
  });
});
