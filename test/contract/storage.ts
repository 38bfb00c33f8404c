// The storage contract (StoragePlugin in src/plugins/types.ts): where key, CSR and certificate live between
// cycles, and the CA files named exactly as AutoSSL names them.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { ARTIFACT_KINDS, type ArtifactKind } from '../../src/blueprint/types';
import type { StoragePlugin } from '../../src/plugins/types';
import { makeKey } from '../helpers/pki';
import { contractCheck, type Todo } from './harness';

export interface StorageUnderTest {
  storage: StoragePlugin;
  /** Permission bits of a stored file (by its file name), where the back end keeps files with modes. */
  mode?(file: string): Promise<number>;
  /** Credentials the storage was opened with: never part of what it says. */
  secrets: string[];
  teardown(): Promise<void>;
}

/** `data` is the blueprint's `data:` list (absent: every kind). Each call gives a new, empty back end. */
export type StorageSetup = (options: { data?: ArtifactKind[] }) => Promise<StorageUnderTest>;

const NAME = 'contract.example.test';

export function storageContract(name: string, setup: StorageSetup, todo: Todo = {}): void {
  describe(`storage contract: ${name}`, () => {
    const check = contractCheck(setup, (t) => t.storage.close(), todo);
    const content = async (kind: ArtifactKind, tag: string) => (kind === 'key' ? makeKey() : `${kind} ${tag}\n`);

    check('get() is null for every kind when nothing is stored', async ({ storage }) => {
      for (const kind of ARTIFACT_KINDS) assert.equal(await storage.get(NAME, kind), null, kind);
      assert.equal(await storage.getFile('autossl_ca.key', 'key'), null);
    });

    check('put() then get() returns the content, and a second put() replaces it', async ({ storage }) => {
      for (const kind of ARTIFACT_KINDS) {
        const [first, second] = [await content(kind, 'first'), await content(kind, 'second')];
        await storage.put(NAME, kind, first);
        assert.equal(await storage.get(NAME, kind), first, kind);
        await storage.put(NAME, kind, second);
        assert.equal(await storage.get(NAME, kind), second, kind);
      }
      assert.equal(await storage.get('other.example.test', 'crt'), null, 'another name stays absent');
    });

    check("create() stores only when absent and returns the first writer's content", async ({ storage }) => {
      assert.equal(await storage.create(NAME, 'csr', 'first\n'), 'first\n');
      assert.equal(await storage.create(NAME, 'csr', 'second\n'), 'first\n');
      assert.equal(await storage.get(NAME, 'csr'), 'first\n');
      // Two at once (two activities of one worker): one wins, both are told the same.
      const [a, b] = await Promise.all([storage.create(NAME, 'crt', 'a\n'), storage.create(NAME, 'crt', 'b\n')]);
      assert.equal(a, b);
      assert.equal(await storage.get(NAME, 'crt'), a);
    });

    check('remove() deletes one artifact, and of an absent one is fine', async ({ storage }) => {
      await storage.remove(NAME, 'csr');
      await storage.put(NAME, 'csr', 'csr\n');
      await storage.put(NAME, 'crt', 'crt\n');
      await storage.remove(NAME, 'csr');
      assert.equal(await storage.get(NAME, 'csr'), null);
      assert.equal(await storage.get(NAME, 'crt'), 'crt\n', 'the other kinds stay');
      await storage.remove(NAME, 'csr');
    });

    check('getFile() and createFile() use the exact name, nothing appended', async ({ storage }) => {
      const key = await makeKey();
      assert.equal(await storage.createFile('contract-account', 'key', key), key);
      assert.equal(await storage.getFile('contract-account', 'key'), key);
      assert.equal(await storage.get('contract-account', 'key'), null, 'not contract-account.key');
      assert.equal(await storage.createFile('contract-account', 'key', await makeKey()), key, 'create-only');
      assert.equal(await storage.createFile('autossl_ca.crt', 'crt', 'ca\n'), 'ca\n');
      assert.equal(await storage.getFile('autossl_ca.crt', 'crt'), 'ca\n');
      assert.equal(await storage.getFile('autossl_ca.crt.crt', 'crt'), null);
    });

    check('stores() is true for every kind without data:', async ({ storage }) => {
      for (const kind of ARTIFACT_KINDS) assert.equal(storage.stores(kind), true, kind);
    });

    check(
      'stores() honours data:',
      async ({ storage }) => {
        for (const kind of ARTIFACT_KINDS) assert.equal(storage.stores(kind), kind === 'crt' || kind === 'csr', kind);
      },
      () => ({ data: ['crt', 'csr'] }),
    );

    check('keys are stored readable by the owner only', async ({ storage, mode }) => {
      if (!mode) return;
      const previous = process.umask(0o022);
      try {
        await storage.put(NAME, 'key', await makeKey());
        await storage.create('other.example.test', 'key', await makeKey());
        await storage.createFile('contract-account', 'key', await makeKey());
      } finally {
        process.umask(previous);
      }
      for (const file of [`${NAME}.key`, 'other.example.test.key', 'contract-account']) {
        assert.equal((await mode(file)) & 0o077, 0, `${file} is readable by others: ${(await mode(file)).toString(8)}`);
      }
    });

    check('locate() names the file in one line and never a credential', async ({ storage, secrets }) => {
      if (!storage.locate) return;
      for (const kind of ARTIFACT_KINDS) {
        const where = storage.locate(NAME, kind);
        assert.match(where, /^\S[^\n]*$/);
        assert.ok(where.includes(`${NAME}.${kind}`), where);
        for (const secret of secrets) assert.ok(!where.includes(secret), `locate() holds a credential: ${where}`);
      }
    });
  });
}
