// Where a storage says a file is: what status, history and notifications show a person looking for the CSR.
// It never carries an account name or password, whatever the blueprint's URL holds.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { gitStorageFactory } from '../../src/plugins/storage/git';
import { createLocalStorage } from '../../src/plugins/storage/local';
import type { PluginContext, StoragePlugin } from '../../src/plugins/types';

describe('storage locations', () => {
  let root: string;
  before(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-locate-'));
  });
  after(() => fs.rm(root, { recursive: true, force: true }));

  const git = async (parameters: Record<string, unknown>): Promise<StoragePlugin> =>
    gitStorageFactory({ cacheRoot: path.join(root, 'clones') })({ type: 'git', declaredType: 'git', parameters }, {} as PluginContext);

  test('local storage: the file path', async () => {
    const store = await createLocalStorage(
      { type: 'local', declaredType: 'local', parameters: { path: '/var/lib/autossl/artifacts' } },
      {} as PluginContext,
    );
    assert.equal(store.locate!('www.example.test', 'csr'), 'local:/var/lib/autossl/artifacts/www.example.test.csr');
  });

  test('git storage: the URL without userinfo, the folder and file, and a configured branch', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [
        { git_url: 'https://deploy@git.example.test/certs.git', folder: 'certs' },
        'git:https://git.example.test/certs.git certs/www.example.test.csr',
      ],
      [{ git_url: 'ssh://git@git.example.test:2222/ops/certs.git' }, 'git:ssh://git.example.test:2222/ops/certs.git www.example.test.csr'],
      [{ git_url: 'git@git.example.test:ops/certs.git', folder: 'a/b/' }, 'git:git.example.test:ops/certs.git a/b/www.example.test.csr'],
      [{ git_url: 'file:///srv/git/certs.git', branch: 'certificates' }, 'git:file:///srv/git/certs.git www.example.test.csr (branch certificates)'],
    ];
    for (const [parameters, expected] of cases) {
      assert.equal((await git(parameters)).locate!('www.example.test', 'csr'), expected, String(parameters.git_url));
    }
  });
});
