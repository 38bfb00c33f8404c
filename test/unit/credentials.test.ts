import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { createCredentialResolver, CredentialError, type CredentialResolverOptions } from '../../src/blueprint/credentials';
import type { CredentialSpec } from '../../src/blueprint/types';

const dir = mkdtempSync(path.join(os.tmpdir(), 'autossl-credentials-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function iniFile(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

const specs: Record<string, CredentialSpec> = {
  git_credentials: { type: 'UserPassword', separator: ':' },
  api: { type: 'ApiKeyAndId', separator: '|' },
  deploy: { type: 'SshKey', separator: ':' },
};

// No default ~/.autossl of the machine running the tests may take part.
const NO_FILE = path.join(dir, 'absent-default');
const resolver = (opts: Partial<CredentialResolverOptions>) => createCredentialResolver({ specs, env: {}, file: iniFile('empty.ini', ''), ...opts });

/** A rejection that is a CredentialError; returns it for further checks. */
async function credentialError(promise: Promise<unknown>): Promise<CredentialError> {
  const error = await promise.then(
    () => assert.fail('expected a CredentialError'),
    (e: unknown) => e,
  );
  assert.ok(error instanceof CredentialError, String(error));
  return error;
}

describe('createCredentialResolver', () => {
  const file = iniFile(
    'credentials.ini',
    [
      '# AutoSSL credentials',
      '[git_credentials]',
      'USERNAME = ini-user',
      'password: ini%%pass',
      '; comment',
      '',
      '[api]',
      'api_key = ini-key',
      'api_id = ini-id',
    ].join('\n'),
  );
  const env = { GIT_CREDENTIALS_USERNAME: 'env-user', GIT_CREDENTIALS_PASSWORD: 'env-pass', API_API_KEY: 'env-key', API_API_ID: 'env-id' };

  it('takes the command line first, splitting at most fields-1 times so a password may hold the separator', async () => {
    const r = resolver({ file, env, commandLine: ['git_credentials:alice:pa:ss:word', 'api:k|i|d'] });
    assert.deepEqual(await r.resolve('git_credentials'), { username: 'alice', password: 'pa:ss:word' });
    // The name always ends at the first ':', the fields are split on the credential's separator.
    assert.deepEqual(await r.resolve('api'), { api_key: 'k', api_id: 'i|d' });
  });

  it('then the ini file section, with case-insensitive option names and %% for %', async () => {
    assert.deepEqual(await resolver({ file, env }).resolve('git_credentials'), { username: 'ini-user', password: 'ini%pass' });
  });

  it('then NAME_FIELD environment variables', async () => {
    assert.deepEqual(await resolver({ env }).resolve('git_credentials'), { username: 'env-user', password: 'env-pass' });
    assert.deepEqual(await resolver({ env }).resolve('api'), { api_key: 'env-key', api_id: 'env-id' });
  });

  it('falls through per field: a command line without password takes the ini one', async () => {
    const r = resolver({ file, env, commandLine: ['git_credentials:alice'] });
    assert.deepEqual(await r.resolve('git_credentials'), { username: 'alice', password: 'ini%pass' });
  });

  it('then asks on the terminal, secrets without echo, each question once', async () => {
    const questions: [string, boolean][] = [];
    const prompt = async (question: string, secret: boolean) => {
      questions.push([question, secret]);
      return secret ? 'typed-secret' : 'typed-user';
    };
    const r = resolver({ prompt });
    // Two activities needing the same credential at once still ask each question once.
    const [first, second] = await Promise.all([r.resolve('git_credentials'), r.resolve('git_credentials')]);
    assert.deepEqual(first, { username: 'typed-user', password: 'typed-secret' });
    assert.deepEqual(second, first);
    assert.deepEqual(questions, [
      ['git_credentials username: ', false],
      ['git_credentials password: ', true],
    ]);
  });

  it('merges extra fields, which also stand in for a missing one', async () => {
    const r = resolver({ env: { DEPLOY_PRIVATE_KEY_FILE: '/keys/id_ed25519' } });
    // The passphrase is optional: absent, not asked for.
    assert.deepEqual(await r.resolve('deploy', { username: 'deployer', port: 22 }), {
      private_key_file: '/keys/id_ed25519',
      username: 'deployer',
      port: '22',
    });
  });

  it('names the credential and its missing fields, never a value', async () => {
    const r = resolver({ env: { GIT_CREDENTIALS_USERNAME: 'visible-user' }, commandLine: ['api:only-key-secret'] });
    const git = await credentialError(r.resolve('git_credentials'));
    assert.equal(git.credential, 'git_credentials');
    assert.deepEqual(git.missing, ['password']);
    assert.match(git.message, /credential 'git_credentials' \(UserPassword\) has no password/);
    assert.match(git.message, /GIT_CREDENTIALS_PASSWORD/);
    assert.doesNotMatch(git.message, /visible-user/);
    const api = await credentialError(r.resolve('api'));
    assert.deepEqual(api.missing, ['api_id']);
    assert.doesNotMatch(api.message, /only-key-secret/);
  });

  it('refuses a credential the blueprint does not declare', async () => {
    const error = await credentialError(resolver({}).resolve('vault'));
    assert.match(error.message, /credential 'vault' is not declared/);
  });

  it('refuses a --credentials item without a name, without repeating it', () => {
    assert.throws(
      () => resolver({ commandLine: ['s3cr3t-without-name'] }),
      (e: unknown) => e instanceof CredentialError && !e.message.includes('s3cr3t') && /NAME:value/.test(e.message),
    );
  });

  it('refuses a missing explicit file and a malformed line (by number, not content), accepts a missing default file', async () => {
    const missing = path.join(dir, 'missing.ini');
    assert.match((await credentialError(resolver({ file: missing, env }).resolve('git_credentials'))).message, /missing\.ini \(not found\)/);
    const bad = iniFile('bad.ini', '[git_credentials]\nthis-line-is-s3cret\n');
    const error = await credentialError(resolver({ file: bad, env }).resolve('git_credentials'));
    assert.match(error.message, /line 2/);
    assert.doesNotMatch(error.message, /s3cret/);

    const home = process.env.HOME;
    process.env.HOME = NO_FILE;
    try {
      const r = createCredentialResolver({ specs, env });
      assert.deepEqual(await r.resolve('git_credentials'), { username: 'env-user', password: 'env-pass' });
    } finally {
      if (home === undefined) delete process.env.HOME;
      else process.env.HOME = home;
    }
  });
});
