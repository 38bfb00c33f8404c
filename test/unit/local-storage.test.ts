import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { ARTIFACT_KINDS, type ArtifactKind } from '../../src/blueprint/types';
import { PluginConfigError } from '../../src/plugins/errors';
import { createLocalStorage } from '../../src/plugins/storage/local';
import type { PluginContext, StoragePlugin } from '../../src/plugins/types';

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-local-storage-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function storage(folder: string, data?: ArtifactKind[]): Promise<StoragePlugin> {
  return createLocalStorage({ type: 'local', declaredType: 'local', parameters: { path: folder }, data }, {} as PluginContext);
}

const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;

describe('local storage', () => {
  test('stores each kind as <name>.<kind>, keys readable by the owner only', async () => {
    const folder = path.join(root, 'artifacts', 'nested');
    const store = await storage(folder);
    const previous = process.umask(0o077);
    try {
      for (const kind of ARTIFACT_KINDS) await store.put('www.example.com', kind, `${kind} content\n`);
    } finally {
      process.umask(previous);
    }

    for (const kind of ARTIFACT_KINDS) {
      const file = path.join(folder, `www.example.com.${kind}`);
      assert.equal(await fs.readFile(file, 'utf8'), `${kind} content\n`);
      assert.equal(await store.get('www.example.com', kind), `${kind} content\n`);
      assert.equal(await mode(file), kind === 'key' ? 0o600 : 0o644, kind);
    }
    assert.deepEqual((await fs.readdir(folder)).sort(), ARTIFACT_KINDS.map((k) => `www.example.com.${k}`).sort());
  });

  test('get is null for an artifact never stored, even when the folder does not exist', async () => {
    assert.equal(await (await storage(path.join(root, 'missing'))).get('site', 'crt'), null);
    const store = await storage(root);
    await store.put('site', 'key', 'k');
    assert.equal(await store.get('site', 'crt'), null);
    assert.equal(await store.get('other', 'key'), null);
  });

  test('put replaces the previous content and leaves no temporary file', async () => {
    const store = await storage(root);
    await store.put('site', 'crt', 'first');
    await store.put('site', 'crt', 'second');
    assert.equal(await store.get('site', 'crt'), 'second');
    assert.deepEqual(await fs.readdir(root), ['site.crt']);
  });

  test('remove deletes the artifact and ignores one that is absent', async () => {
    const store = await storage(root);
    await store.put('site.pending', 'key', 'k');
    await store.remove('site.pending', 'key');
    assert.equal(await store.get('site.pending', 'key'), null);
    await store.remove('site.pending', 'key');
    await assert.rejects(store.remove('../x', 'key'), PluginConfigError);
  });

  test('reads and creates files by their exact names (CA files), keys owner-only whatever their extension', async () => {
    const store = await storage(root);
    await fs.writeFile(path.join(root, 'autossl_ca.key'), 'AutoSSL key');
    assert.equal(await store.getFile('autossl_ca.key', 'key'), 'AutoSSL key');
    assert.equal(await store.getFile('autossl_ca', 'key'), null, 'nothing appended');
    assert.equal(await store.createFile('account.pem', 'key', 'new key'), 'new key');
    assert.equal(await mode(path.join(root, 'account.pem')), 0o600);
    assert.equal(await store.createFile('account.pem', 'key', 'another key'), 'new key', 'created only once');
    assert.equal(await store.createFile('autossl_ca.crt', 'crt', 'certificate'), 'certificate');
    assert.equal(await mode(path.join(root, 'autossl_ca.crt')), 0o644);
    assert.deepEqual((await fs.readdir(root)).sort(), ['account.pem', 'autossl_ca.crt', 'autossl_ca.key']);
    for (const name of ['', '..', '../outside.key', 'a/b.key']) {
      await assert.rejects(store.getFile(name, 'key'), PluginConfigError, `getFile ${JSON.stringify(name)}`);
      await assert.rejects(store.createFile(name, 'key', 'x'), PluginConfigError, `createFile ${JSON.stringify(name)}`);
    }
  });

  test('stores every kind when data is absent or empty, only the listed kinds otherwise', async () => {
    for (const data of [undefined, []]) {
      const store = await storage(root, data);
      for (const kind of ARTIFACT_KINDS) assert.equal(store.stores(kind), true, `${kind} with data ${JSON.stringify(data)}`);
    }
    const store = await storage(root, ['key', 'crt']);
    assert.deepEqual(
      ARTIFACT_KINDS.filter((k) => store.stores(k)),
      ['key', 'crt'],
    );
  });

  test('refuses names that are not plain file names, without touching the disk', async () => {
    const folder = path.join(root, 'store');
    await fs.mkdir(folder);
    await fs.writeFile(path.join(root, 'outside.key'), 'keep');
    const store = await storage(folder);
    for (const name of ['', '.', '..', '../outside', 'a/b', 'a\\b', '/etc/passwd', 'nul\0byte']) {
      await assert.rejects(store.put(name, 'key', 'x'), PluginConfigError, `put ${JSON.stringify(name)}`);
      await assert.rejects(store.get(name, 'key'), (err: unknown) => {
        assert.ok(err instanceof PluginConfigError);
        assert.equal(err.name, 'PluginConfigError');
        assert.ok(err.message.startsWith(`storage local:${folder}: `), err.message);
        return true;
      });
    }
    assert.deepEqual(await fs.readdir(folder), []);
    assert.equal(await fs.readFile(path.join(root, 'outside.key'), 'utf8'), 'keep');
  });

  test('a folder where an artifact belongs is a configuration error naming the path', async () => {
    await fs.mkdir(path.join(root, 'site.crt'));
    const store = await storage(root);
    for (const attempt of [store.get('site', 'crt'), store.put('site', 'crt', 'x')]) {
      await assert.rejects(attempt, (err: unknown) => {
        assert.ok(err instanceof PluginConfigError);
        assert.ok(err.message.includes(path.join(root, 'site.crt')), err.message);
        return true;
      });
    }
  });

  test('needs a path', () => {
    assert.throws(() => createLocalStorage({ type: 'local', declaredType: 'local', parameters: {} }, {} as PluginContext), PluginConfigError);
  });
});
