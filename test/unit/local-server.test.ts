import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { ServerSpec } from '../../src/blueprint/types';
import { servesHttp01, type Http01Server } from '../../src/plugins/challenge';
import { PluginConfigError, PluginIoError } from '../../src/plugins/errors';
import { deployPairAtomic, localFileOps, type AtomicFileOps } from '../../src/plugins/fs-atomic';
import { createLocalServer } from '../../src/plugins/servers/local';
import type { PluginContext } from '../../src/plugins/types';
import { deployPair } from '../../src/plugins/deploy-pair';

// The plugins treat PEM as text, so opaque blocks are enough here.
const pem = (label: string, body: string): string => `-----BEGIN ${label}-----\n${body}\n-----END ${label}-----\n`;
const KEY_OLD = pem('PRIVATE KEY', 'old-secret-key');
const CRT_OLD = pem('CERTIFICATE', 'old-leaf');
const KEY_NEW = pem('PRIVATE KEY', 'new-secret-key');
const CRT_NEW = pem('CERTIFICATE', 'new-leaf');

let root: string;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-local-server-'));
});
afterEach(async () => {
  await fs.rm(root, { recursive: true, force: true });
});

async function server(parameters: Record<string, unknown>): Promise<Http01Server> {
  const spec: ServerSpec = { type: 'local', declaredType: 'local', id: `local:${String(parameters.path)}`, crtName: 'site', parameters };
  const srv = await createLocalServer(spec, {} as PluginContext);
  assert.ok(servesHttp01(srv), 'a local server serves HTTP-01 challenges');
  return srv;
}

const mode = async (file: string): Promise<number> => (await fs.stat(file)).mode & 0o777;
const read = (file: string): Promise<string> => fs.readFile(file, 'utf8');
/** Everything in `dir` a reader would not expect: temporary files and backups are hidden dot files. */
const leftovers = async (dir: string): Promise<string[]> => (await fs.readdir(dir)).filter((n) => n.startsWith('.'));

async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const previous = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(previous);
  }
}

describe('local server deploy', () => {
  test('writes the key readable by the owner only and the certificate world-readable, creating folders', async () => {
    const dir = path.join(root, 'etc', 'ssl', 'site');
    const srv = await server({ path: dir });
    await withUmask(0o077, () => srv.deploy(deployPair({ key: KEY_NEW, certificate: CRT_NEW, chain: [pem('CERTIFICATE', 'ca')] })));

    assert.equal(await read(path.join(dir, 'site.key')), KEY_NEW);
    assert.equal(await read(path.join(dir, 'site.crt')), CRT_NEW, 'without deploy_full_chain only the leaf');
    assert.equal(await mode(path.join(dir, 'site.key')), 0o600);
    assert.equal(await mode(path.join(dir, 'site.crt')), 0o644);
    assert.equal(await mode(dir), 0o755);
    assert.equal(await mode(path.join(root, 'etc')), 0o755);
    assert.deepEqual(await fs.readdir(dir), ['site.crt', 'site.key']);
  });

  test('with deploy_full_chain the certificate file holds the leaf then each chain certificate', async () => {
    const srv = await server({ path: root, deploy_full_chain: true });
    const leaf = pem('CERTIFICATE', 'leaf').trimEnd();
    const chain = [pem('CERTIFICATE', 'intermediate').trimEnd(), pem('CERTIFICATE', 'root')];
    await srv.deploy(deployPair({ key: KEY_NEW, certificate: leaf, chain }));

    assert.equal(await read(path.join(root, 'site.crt')), `${leaf}\n${chain[0]}\n${chain[1]}`);
  });

  test('a second deploy replaces both files and leaves nothing behind', async () => {
    const srv = await server({ path: root });
    await srv.deploy(deployPair({ key: KEY_OLD, certificate: CRT_OLD, chain: [] }));
    await srv.deploy(deployPair({ key: KEY_NEW, certificate: CRT_NEW, chain: [] }));

    assert.deepEqual(await srv.readCurrent(), { certificate: CRT_NEW, key: KEY_NEW });
    assert.deepEqual(await leftovers(root), []);
    assert.equal(await mode(path.join(root, 'site.key')), 0o600);
  });

  test('a retried deploy of the pair already in place writes nothing; a changed file or mode is written again', async () => {
    const srv = await server({ path: root });
    const key = path.join(root, 'site.key');
    const crt = path.join(root, 'site.crt');
    const inodes = async () => [(await fs.stat(key)).ino, (await fs.stat(crt)).ino];
    await srv.deploy(deployPair({ key: KEY_NEW, certificate: CRT_NEW, chain: [] }));
    const first = await inodes();
    await srv.deploy(deployPair({ key: KEY_NEW, certificate: CRT_NEW, chain: [] }));
    assert.deepEqual(await inodes(), first, 'same pair: the files are not replaced');

    await fs.chmod(key, 0o644);
    await srv.deploy(deployPair({ key: KEY_NEW, certificate: CRT_NEW, chain: [] }));
    assert.equal(await mode(key), 0o600, 'a key left readable by others is written again');
    await fs.writeFile(crt, CRT_OLD);
    await srv.deploy(deployPair({ key: KEY_NEW, certificate: CRT_NEW, chain: [] }));
    assert.deepEqual(await srv.readCurrent(), { certificate: CRT_NEW, key: KEY_NEW });
    assert.deepEqual(await leftovers(root), []);
  });

  test('a folder where the certificate belongs fails the deploy, keeps the previous key and names the path', async () => {
    await fs.writeFile(path.join(root, 'site.key'), KEY_OLD, { mode: 0o600 });
    await fs.mkdir(path.join(root, 'site.crt'));
    const srv = await server({ path: root });

    const err = await srv.deploy(deployPair({ key: KEY_NEW, certificate: CRT_NEW, chain: [] })).then(
      () => assert.fail('deploy succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PluginConfigError);
    assert.equal(err.name, 'PluginConfigError');
    assert.equal(err.retryable, false);
    assert.ok(err.message.startsWith(`local:${root}: `), err.message);
    assert.ok(err.message.includes(path.join(root, 'site.crt')), err.message);
    assert.doesNotMatch(err.message, /secret-key/);
    assert.equal(await read(path.join(root, 'site.key')), KEY_OLD);
    assert.ok((await fs.stat(path.join(root, 'site.crt'))).isDirectory());
    assert.deepEqual(await leftovers(root), []);
  });

  test('an immutable certificate (which root cannot override) fails the deploy with the previous pair in place', async (t) => {
    const srv = await server({ path: root });
    await srv.deploy(deployPair({ key: KEY_OLD, certificate: CRT_OLD, chain: [] }));
    const crt = path.join(root, 'site.crt');
    try {
      execFileSync('chattr', ['+i', crt], { stdio: 'ignore' });
    } catch {
      t.skip('chattr +i is not available on this file system');
      return;
    }
    try {
      await assert.rejects(srv.deploy(deployPair({ key: KEY_NEW, certificate: CRT_NEW, chain: [] })), PluginIoError);
    } finally {
      execFileSync('chattr', ['-i', crt]);
    }
    assert.deepEqual(await srv.readCurrent(), { certificate: CRT_OLD, key: KEY_OLD });
    assert.deepEqual(await leftovers(root), []);
  });
});

describe('pair deploy failing between the two renames', () => {
  const keyPath = (): string => path.join(root, 'site.key');
  const certificatePath = (): string => path.join(root, 'site.crt');
  const pair = () => ({ keyPath: keyPath(), key: KEY_NEW, certificatePath: certificatePath(), certificate: CRT_NEW });

  beforeEach(async () => {
    await deployPairAtomic('test', { keyPath: keyPath(), key: KEY_OLD, certificatePath: certificatePath(), certificate: CRT_OLD });
  });

  /** Real file operations, except that once the key is in place another process deletes the new certificate. */
  const certificateVanishes: AtomicFileOps = {
    ...localFileOps,
    async rename(from, to) {
      await localFileOps.rename(from, to);
      if (to === keyPath() && from.endsWith('.tmp')) {
        const temp = (await fs.readdir(root)).find((n) => n.startsWith('.site.crt.') && n.endsWith('.tmp'));
        assert.ok(temp, 'the new certificate is fully written before the key is swapped in');
        await fs.rm(path.join(root, temp));
      }
    },
  };

  test('puts the previous key back, so key and certificate still match', async () => {
    const err = await deployPairAtomic('local:site', pair(), certificateVanishes).then(
      () => assert.fail('deploy succeeded'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof PluginIoError);
    assert.equal(err.code, 'ENOENT');
    assert.ok(err.message.startsWith(`local:site: cannot replace ${certificatePath()}`), err.message);
    assert.equal(await read(keyPath()), KEY_OLD);
    assert.equal(await read(certificatePath()), CRT_OLD);
    assert.equal(await mode(keyPath()), 0o600);
    assert.deepEqual(await leftovers(root), []);
  });

  test('says so and keeps the backup when the previous key cannot be put back either', async () => {
    const restoreFails: AtomicFileOps = {
      ...certificateVanishes,
      async rename(from, to) {
        if (from.endsWith('.bak')) throw Object.assign(new Error('simulated'), { code: 'EIO' });
        await certificateVanishes.rename(from, to);
      },
    };
    await assert.rejects(deployPairAtomic('local:site', pair(), restoreFails), (err: unknown) => {
      assert.ok(err instanceof PluginIoError);
      assert.ok(err.message.includes(`restoring the previous ${keyPath()} also failed, its backup is kept`), err.message);
      return true;
    });
    const backups = (await leftovers(root)).filter((n) => n.endsWith('.bak'));
    assert.equal(backups.length, 1);
    assert.equal(await read(path.join(root, backups[0])), KEY_OLD);
  });

  test('removes a file that did not exist before', async () => {
    await fs.rm(keyPath());
    await assert.rejects(deployPairAtomic('local:site', pair(), certificateVanishes), PluginIoError);
    await assert.rejects(fs.stat(keyPath()), { code: 'ENOENT' });
    assert.equal(await read(certificatePath()), CRT_OLD);
  });
});

describe('local server readCurrent', () => {
  test('is null when no certificate is deployed, even with a key present', async () => {
    const srv = await server({ path: path.join(root, 'missing') });
    assert.equal(await srv.readCurrent(), null);
    await fs.writeFile(path.join(root, 'site.key'), KEY_OLD);
    assert.equal(await (await server({ path: root })).readCurrent(), null);
  });

  test('returns the certificate with a null key when the key file is missing', async () => {
    await fs.writeFile(path.join(root, 'site.crt'), CRT_OLD);
    assert.deepEqual(await (await server({ path: root })).readCurrent(), { certificate: CRT_OLD, key: null });
  });

  test('returns both files as deployed', async () => {
    const srv = await server({ path: root });
    await srv.deploy(deployPair({ key: KEY_OLD, certificate: CRT_OLD, chain: [] }));
    assert.deepEqual(await srv.readCurrent(), { certificate: CRT_OLD, key: KEY_OLD });
  });
});

describe('local server identity', () => {
  test('describes itself by its folder', async () => {
    assert.equal((await server({ path: '/etc/ssl/site' })).describe(), 'local:/etc/ssl/site');
  });

  test('refuses a crt_name that would leave the folder', () => {
    const spec: ServerSpec = { type: 'local', declaredType: 'local', id: 'x', crtName: '../site', parameters: { path: root } };
    assert.throws(() => createLocalServer(spec, {} as PluginContext), PluginConfigError);
  });
});

describe('local server HTTP-01 challenge', () => {
  const TOKEN = 'evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA';

  test('serves the content from acme_dir, readable by the web server, and removes it', async () => {
    const acmeDir = path.join(root, 'www', '.well-known', 'acme-challenge');
    const srv = await server({ path: root, acme_dir: acmeDir });
    await withUmask(0o077, () => srv.putChallenge(TOKEN, `${TOKEN}.thumbprint`));

    const file = path.join(acmeDir, TOKEN);
    assert.equal(await read(file), `${TOKEN}.thumbprint`);
    assert.equal(await mode(file), 0o644);
    assert.equal(await mode(acmeDir), 0o755);
    assert.deepEqual(await leftovers(acmeDir), []);

    await srv.removeChallenge(TOKEN);
    assert.deepEqual(await fs.readdir(acmeDir), []);
    await srv.removeChallenge(TOKEN);
  });

  test('refuses tokens outside base64url before touching the disk', async () => {
    const acmeDir = path.join(root, 'acme');
    await fs.mkdir(acmeDir);
    await fs.writeFile(path.join(root, 'x'), 'keep');
    const srv = await server({ path: root, acme_dir: acmeDir });
    for (const token of ['', '.', '..', '../x', 'a/b', 'a\\b', 'a.b', '%2e%2e', 'a b', 'ä', 'x'.repeat(256)]) {
      await assert.rejects(srv.putChallenge(token, 'content'), PluginConfigError, `put ${JSON.stringify(token)}`);
      await assert.rejects(srv.removeChallenge(token), PluginConfigError, `remove ${JSON.stringify(token)}`);
    }
    assert.deepEqual(await fs.readdir(acmeDir), []);
    assert.equal(await read(path.join(root, 'x')), 'keep');
  });

  test('without acme_dir says HTTP-01 needs it', async () => {
    const srv = await server({ path: root });
    await assert.rejects(srv.putChallenge(TOKEN, 'content'), (err: unknown) => {
      assert.ok(err instanceof PluginConfigError);
      assert.match(err.message, /acme_dir/);
      return true;
    });
  });
});
