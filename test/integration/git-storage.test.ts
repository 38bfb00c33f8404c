// GitStorage against real git: bare repositories over file://, over smart HTTP with Basic authentication (git
// http-backend) and over ssh (a real sshd), two "workers" racing to push, and one lifecycle on the dev server.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { loadBlueprints } from '../../src/catalog';
import { ARTIFACT_KINDS, type ArtifactKind, type Blueprint, type CredentialSpec } from '../../src/blueprint/types';
import { requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { PluginConfigError, PluginIoError } from '../../src/plugins/errors';
import { gitStorageFactory } from '../../src/plugins/storage/git';
import type { PluginContext, StoragePlugin } from '../../src/plugins/types';
import { workflowIdFor } from '../../src/workflows/definitions';
import { bundleWorkflows, createWorker } from '../../src/worker/worker';
import { parseCertificate } from '../../src/x509';
import { isolateGit, startGitHttp, type GitHttpServer } from '../helpers/git-http';
import { startSshd } from '../helpers/sshd';
import { startTestDevServer } from '../helpers/temporal';

const execFileAsync = promisify(execFile);

// Every character that breaks a naively built URL, and a '%40' that a double decoding would turn into '@'.
const USERNAME = 'cert-bot@example.test';
const PASSWORD = 'p@ss:w/rd%40 #?&x';
const WRONG_PASSWORD = 'wr@ng:/%pw';
const SECRETS = [PASSWORD, encodeURIComponent(PASSWORD), WRONG_PASSWORD, encodeURIComponent(WRONG_PASSWORD)];

const HTTP_CREDENTIALS: Record<string, CredentialSpec> = { git_http: { type: 'UserPassword', separator: ':' } };

/** Every string and every byte payload (decoded as UTF-8) in a history, joined. */
function everyString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value && typeof value === 'object') return Object.values(value).map(everyString).join('\n');
  return '';
}

async function filesUnder(folder: string): Promise<string[]> {
  const entries = await fs.readdir(folder, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

describe('git storage', () => {
  let dir: string;
  let http: GitHttpServer;
  const savedEnv = { ...process.env };
  /** Everything this process printed while the tests ran. */
  let printed = '';
  const writes = { out: process.stdout.write, err: process.stderr.write };

  before(async () => {
    dir = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-git-')));
    // Neither the machine's nor the user's git or ssh configuration may change what git does here.
    await isolateGit(dir);
    await fs.mkdir(path.join(dir, 'http'));
    http = await startGitHttp({ projectRoot: path.join(dir, 'http'), username: USERNAME, password: PASSWORD });
    for (const stream of ['stdout', 'stderr'] as const) {
      const original = process[stream].write.bind(process[stream]);
      process[stream].write = ((chunk: string | Uint8Array, ...rest: never[]) => {
        printed += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        return original(chunk, ...rest);
      }) as typeof process.stdout.write;
    }
  });

  after(async () => {
    process.stdout.write = writes.out;
    process.stderr.write = writes.err;
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
    await http?.stop();
    await fs.rm(dir, { recursive: true, force: true });
  });

  const git = async (...args: string[]): Promise<string> => (await execFileAsync('git', args, { env: process.env })).stdout;

  async function bareRepo(relative: string): Promise<string> {
    const repo = path.join(dir, relative);
    await git('init', '-q', '--bare', '-b', 'main', repo);
    return repo;
  }

  function context(commandLine: string[] = [], specs: Record<string, CredentialSpec> = HTTP_CREDENTIALS): PluginContext {
    return {
      blueprint: { name: 'test' } as Blueprint,
      credentials: createCredentialResolver({ specs, commandLine, env: {} }),
      staging: false,
      activity: () => undefined,
      openStorage: async () => assert.fail('no nested storage here'),
      openDnsProvider: async () => assert.fail('no DNS here'),
    };
  }

  function open(cacheRoot: string, parameters: Record<string, unknown>, ctx = context(), credentials?: string): Promise<StoragePlugin> {
    const spec = { type: 'git', declaredType: 'git', parameters, data: [...ARTIFACT_KINDS], ...(credentials && { credentials }) };
    return Promise.resolve(gitStorageFactory({ cacheRoot: path.join(dir, cacheRoot) })(spec, ctx));
  }

  /** The one working clone under a cache folder. */
  async function cloneIn(cacheRoot: string): Promise<string> {
    const entries = await fs.readdir(path.join(dir, cacheRoot), { withFileTypes: true });
    const clones = entries.filter((e) => e.isDirectory());
    assert.equal(clones.length, 1, `one clone in ${cacheRoot}: ${clones.map((e) => e.name)}`);
    return path.join(dir, cacheRoot, clones[0].name);
  }

  /** Commit messages of the remote branch, newest first. */
  async function commits(repo: string, branch = 'main'): Promise<string[]> {
    const log = await git('--git-dir', repo, 'log', '--format=%an <%ae>%n%B%x00', branch);
    return log
      .split('\0')
      .map((m) => m.trim())
      .filter(Boolean);
  }

  const artifacts: Record<ArtifactKind, string> = {
    key: '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n',
    csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n',
    crt: '-----BEGIN CERTIFICATE-----\nMIIC\n-----END CERTIFICATE-----\n',
    yaml: 'name: www.example.test\n',
  };

  it('over file:// stores and reads every kind through one reused clone, a commit per change', async () => {
    const remote = await bareRepo('artifacts.git');
    const parameters = { git_url: `file://${remote}`, folder: 'certs', committer_name: 'Cert Bot', committer_email: 'bot@example.test' };
    const first = await open('cache', parameters);
    assert.equal(await first.get('www.example.test', 'crt'), null, 'an empty remote holds nothing');
    for (const kind of ARTIFACT_KINDS) await first.put('www.example.test', kind, artifacts[kind], `www.example.test: new ${kind}`);

    const clone = await cloneIn('cache');
    // A clone made again would not have this file.
    const sentinel = path.join(clone, '.git', 'test-sentinel');
    await fs.writeFile(sentinel, '');
    assert.equal((await fs.stat(path.join(clone, 'certs/www.example.test.key'))).mode & 0o777, 0o600);
    assert.equal((await fs.stat(clone)).mode & 0o777, 0o700, 'the clone holds keys: owner only');

    // The next activity opens a new instance: it reads through the same clone, which is not cloned again.
    const second = await open('cache', parameters);
    for (const kind of ARTIFACT_KINDS) assert.equal(await second.get('www.example.test', kind), artifacts[kind]);
    assert.equal(await cloneIn('cache'), clone);
    assert.ok(await fs.stat(sentinel), 'the clone is reused, not made again');

    const messages = await commits(remote);
    assert.equal(messages.length, 4);
    for (const [i, kind] of [...ARTIFACT_KINDS].reverse().entries()) {
      assert.match(messages[i], new RegExp(`^Cert Bot <bot@example.test>\nwww.example.test: new ${kind}\n\nStored: certs/www.example.test.${kind}$`));
    }
    assert.equal(await git('--git-dir', remote, 'show', 'main:certs/www.example.test.key'), artifacts.key);

    // Storing the same content again (a retried activity) commits nothing.
    await second.put('www.example.test', 'crt', artifacts.crt, 'again');
    assert.equal((await commits(remote)).length, 4);

    await second.remove('www.example.test', 'csr', 'www.example.test: renewal complete');
    await second.remove('www.example.test', 'csr', 'nothing to remove');
    const afterRemove = await commits(remote);
    assert.equal(afterRemove.length, 5);
    assert.match(afterRemove[0], /www.example.test: renewal complete\n\nRemoved: certs\/www.example.test.csr/);
    assert.equal(await second.get('www.example.test', 'csr'), null);

    // Someone else changes the key on the remote: the next read sees it, and the key is owner-only again.
    const other = path.join(dir, 'someone-else');
    await git('clone', '-q', remote, other);
    await fs.writeFile(path.join(other, 'certs/www.example.test.key'), 'rotated\n');
    await git('-C', other, '-c', 'user.name=x', '-c', 'user.email=x@x', 'commit', '-qam', 'rotate');
    await git('-C', other, 'push', '-q', 'origin', 'main');
    assert.equal(await second.get('www.example.test', 'key'), 'rotated\n');
    assert.equal((await fs.stat(path.join(clone, 'certs/www.example.test.key'))).mode & 0o777, 0o600);
  });

  it('refuses a password written into git_url (without repeating it), a branch or folder that is not plain', async () => {
    await assert.rejects(open('cache-bad', { git_url: `https://bot:${encodeURIComponent(PASSWORD)}@git.example.test/r.git` }), (err: unknown) => {
      assert.ok(err instanceof PluginConfigError);
      assert.match(err.message, /^storage git:https:\/\/bot@git.example.test\/r.git: git_url holds a password/);
      for (const secret of SECRETS) assert.ok(!err.message.includes(secret));
      return true;
    });
    await assert.rejects(open('cache-bad', { git_url: `file://${dir}/absent.git`, branch: 'main:refs/heads/x' }), /not a plain branch name/);
    await assert.rejects(open('cache-bad', { git_url: `file://${dir}/absent.git`, folder: '../outside' }), /folder must be a path inside/);
    await assert.rejects(open('cache-bad', { git_url: 'ftp://host/r.git' }), /git_url must be/);
  });

  it('lets two workers push at the same time: both succeed and every change reaches the remote', async () => {
    const remote = await bareRepo('race.git');
    const parameters = { git_url: `file://${remote}` };
    // Two cache folders: two working clones, as two worker processes would have.
    const [a, b] = await Promise.all([open('worker-1', parameters), open('worker-2', parameters)]);
    await a.put('seed', 'crt', 'seed\n');
    assert.equal(await b.get('seed', 'crt'), 'seed\n');
    const names = [0, 1, 2].flatMap((i) => [`a${i}`, `b${i}`]);
    await Promise.all(names.map((n) => (n.startsWith('a') ? a : b).put(n, 'crt', `${n}\n`, `${n}: certificate`)));

    const tree = (await git('--git-dir', remote, 'ls-tree', '--name-only', 'main')).split('\n').filter(Boolean);
    assert.deepEqual(tree.sort(), ['seed', ...names].map((n) => `${n}.crt`).sort());
    assert.equal((await commits(remote)).length, 1 + names.length);
    assert.equal(await git('--git-dir', remote, 'rev-list', '--merges', 'main'), '', 'history stays linear');
    for (const n of names) assert.equal(await a.get(n, 'crt'), `${n}\n`);
  });

  it('creates an artifact once when two workers create it at the same time: both get the first one stored', async () => {
    const remote = await bareRepo('create-race.git');
    const parameters = { git_url: `file://${remote}` };
    const [a, b] = await Promise.all([open('create-1', parameters), open('create-2', parameters)]);
    const [fromA, fromB] = await Promise.all([a.create('ca', 'key', 'key of a\n'), b.create('ca', 'key', 'key of b\n')]);
    const stored = await git('--git-dir', remote, 'show', 'main:ca.key');
    assert.equal(fromA, stored);
    assert.equal(fromB, stored);
    assert.equal((await commits(remote)).length, 1, 'one commit: the loser changed nothing');
    assert.equal(await b.create('ca', 'key', 'another\n'), stored, 'an existing artifact is never replaced');
  });

  it("reads and creates CA files by their exact names (AutoSSL's), a key owner-only after every checkout", async () => {
    const remote = await bareRepo('exact-names.git');
    const parameters = { git_url: `file://${remote}`, folder: 'ca' };
    const [a, b] = await Promise.all([open('exact-1', parameters), open('exact-2', parameters)]);
    assert.equal(await a.createFile('autossl_ca.pem', 'key', artifacts.key, 'new CA key'), artifacts.key);
    assert.equal(await b.createFile('autossl_ca.pem', 'key', 'another key\n'), artifacts.key, 'created once');
    assert.equal(await b.getFile('autossl_ca.pem', 'key'), artifacts.key);
    assert.equal(await b.getFile('autossl_ca', 'key'), null, 'nothing appended');
    assert.equal(await git('--git-dir', remote, 'show', 'main:ca/autossl_ca.pem'), artifacts.key);
    // b's clone got the file from a checkout, not from its own write.
    assert.equal((await fs.stat(path.join(await cloneIn('exact-2'), 'ca/autossl_ca.pem'))).mode & 0o777, 0o600);
    await assert.rejects(a.getFile('../outside.pem', 'key'), { name: 'PluginConfigError' });
  });

  it('waits while another process holds the clone, and takes over a lock its dead holder left', async () => {
    const remote = await bareRepo('locked.git');
    const storage = await open('cache-lock', { git_url: `file://${remote}` });
    await storage.put('a', 'crt', 'a\n');
    const lock = `${await cloneIn('cache-lock')}.lock`;
    const holder = spawn('sleep', ['30']);
    await fs.writeFile(lock, String(holder.pid));
    let read = false;
    const reading = storage.get('a', 'crt').then((content) => ((read = true), content));
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal(read, false, 'waits for the live holder');
    const exited = once(holder, 'exit');
    holder.kill();
    await exited;
    assert.equal(await reading, 'a\n');
    // Left by this very pid before a restart (containers reuse pids): stale too.
    await fs.writeFile(lock, String(process.pid));
    assert.equal(await storage.get('a', 'crt'), 'a\n');
    await assert.rejects(fs.stat(lock), 'released after use');
  });

  it('over https sends a password holding @:/% from the credentials and shows it nowhere', async () => {
    const remote = await bareRepo('http/secret.git');
    const url = http.urlOf('secret.git');
    const storage = await open('cache-http', { git_url: url, folder: 'ca' }, context([`git_http:${USERNAME}:${PASSWORD}`]), 'git_http');
    // With simple-git's trace on, as someone chasing a problem would run it: it prints every spawn's environment.
    const debug = require(require.resolve('debug', { paths: [require.resolve('simple-git')] })) as { enable(ns: string): void; disable(): string };
    const tracing = debug.disable();
    debug.enable('simple-git,simple-git:*');
    try {
      await storage.put('ca', 'key', artifacts.key, 'ca: new key');
      await storage.put('ca', 'crt', artifacts.crt, 'ca: new certificate');
      assert.equal(await storage.get('ca', 'crt'), artifacts.crt);
    } finally {
      debug.disable();
      debug.enable(tracing);
    }
    assert.match(printed, /AUTOSSL_GIT_PASSWORD: '\*\*\*'/, 'the trace printed the environment, blanked');
    assert.equal(await git('--git-dir', remote, 'show', 'main:ca/ca.key'), artifacts.key);
    assert.ok(
      http.requests.some((r) => !r.authorised),
      'the server asked for credentials',
    );
    assert.ok(
      http.requests.some((r) => r.authorised && r.method === 'POST' && r.path.endsWith('/git-receive-pack')),
      'pushed authenticated',
    );

    const errors: string[] = [];
    const wrong = await open('cache-wrong', { git_url: url }, context([`git_http:${USERNAME}:${WRONG_PASSWORD}`]), 'git_http');
    await assert.rejects(wrong.get('ca', 'crt'), (err: unknown) => {
      assert.ok(err instanceof PluginConfigError, String(err));
      assert.equal(err.retryable, false);
      assert.match(err.message, /Authentication failed/);
      assert.ok(err.message.includes(url), `the URL is named: ${err.message}`);
      errors.push(`${err.message}\n${err.stack}\n${String(err.cause)}`);
      return true;
    });

    const clone = await cloneIn('cache-http');
    const config = await fs.readFile(path.join(clone, '.git/config'), 'utf8');
    assert.ok(config.includes(url), 'the remote is the URL as written');
    const stored = await Promise.all((await filesUnder(path.join(dir, 'cache-http'))).map((f) => fs.readFile(f, 'latin1')));
    for (const secret of SECRETS) {
      for (const [where, text] of [
        ['errors', errors.join('\n')],
        ['output', printed],
        ['clone', stored.join('\n')],
      ]) {
        assert.ok(!text.includes(secret), `a password is in the ${where}`);
      }
    }
  });

  it('reports an unreachable remote as retryable', async () => {
    const down = await startGitHttp({ projectRoot: path.join(dir, 'http'), username: USERNAME, password: PASSWORD });
    const url = down.urlOf('secret.git');
    await down.stop();
    const storage = await open('cache-down', { git_url: url }, context([`git_http:${USERNAME}:${PASSWORD}`]), 'git_http');
    await assert.rejects(storage.get('ca', 'crt'), (err: unknown) => {
      assert.ok(err instanceof PluginIoError, String(err));
      assert.equal(err.retryable, true);
      assert.match(err.message, /Failed to connect|Connection refused|Could not connect/i);
      return true;
    });
  });

  it('over ssh with a key (and one with a passphrase), refusing an unknown host key', async () => {
    const sshd = await startSshd();
    try {
      const remote = await bareRepo('ssh.git');
      const url = `ssh://${sshd.username}@${sshd.host}:${sshd.port}${remote}`;
      const withKey = { git_url: url, private_key_file: sshd.userKeyFile, known_hosts_file: sshd.knownHostsFile };
      const storage = await open('cache-ssh', withKey);
      await storage.put('ssh.test', 'key', artifacts.key, 'ssh.test: new key');
      assert.equal(await storage.get('ssh.test', 'key'), artifacts.key);
      assert.equal(await git('--git-dir', remote, 'show', 'main:ssh.test.key'), artifacts.key);

      // An SshKey credential whose key needs a passphrase; the account comes from the credential.
      const keyFile = path.join(dir, 'locked_ed25519');
      const passphrase = 'lo@ck:/%ed';
      await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'locked', '-f', keyFile]);
      await fs.appendFile(path.join(sshd.dir, 'authorized_keys'), await fs.readFile(`${keyFile}.pub`, 'utf8'));
      const specs: Record<string, CredentialSpec> = { deploy: { type: 'SshKey', separator: ':' } };
      const locked = await open(
        'cache-ssh-locked',
        { git_url: `ssh://${sshd.host}:${sshd.port}${remote}`, known_hosts_file: sshd.knownHostsFile },
        context([`deploy:${sshd.username}:${keyFile}:${passphrase}`], specs),
        'deploy',
      );
      assert.equal(await locked.get('ssh.test', 'key'), artifacts.key);
      assert.ok(!printed.includes(passphrase));

      const emptyKnownHosts = path.join(dir, 'known_hosts_empty');
      await fs.writeFile(emptyKnownHosts, '');
      const stranger = await open('cache-ssh-stranger', { ...withKey, known_hosts_file: emptyKnownHosts });
      await assert.rejects(stranger.get('ssh.test', 'key'), (err: unknown) => {
        assert.ok(err instanceof PluginConfigError, String(err));
        assert.match(err.message, /Host key verification failed/);
        return true;
      });
      // Told to trust a new host, it connects and records the key, as the ssh server plugin's option does.
      const trusting = await open('cache-ssh-trusting', { ...withKey, known_hosts_file: emptyKnownHosts, accept_unknown_host_key: true });
      assert.equal(await trusting.get('ssh.test', 'key'), artifacts.key);
      const keyOf = (line: string) => line.trim().split(/\s+/).slice(-2).join(' ');
      const serverKeys = (await fs.readFile(sshd.knownHostsFile, 'utf8')).split('\n').filter(Boolean).map(keyOf);
      const recorded = (await fs.readFile(emptyKnownHosts, 'utf8')).split('\n').filter(Boolean).map(keyOf);
      assert.ok(recorded.length > 0 && recorded.every((k) => serverKeys.includes(k)), `recorded ${recorded}`);
    } finally {
      await sshd.stop();
    }
  });

  it('keeps a whole lifecycle in git: issued, committed, deployed, and no secret in history', async () => {
    const temporal = await startTestDevServer();
    const taskQueue = 'git-storage-test';
    const worker = await createWorker({
      connection: temporal.nativeConnection,
      namespace: temporal.namespace,
      taskQueue,
      workflowBundle: await bundleWorkflows(),
      env: {
        staging: false,
        credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, commandLine: [`git_http:${USERNAME}:${PASSWORD}`], env: {} }),
      },
    });
    const running = worker.run();
    try {
      const remote = await bareRepo('lifecycle.git');
      await bareRepo('http/ca.git');
      const file = path.join(dir, 'git.test.yaml');
      // The artifacts over file://, the CA's key and certificate over https with the password.
      await fs.writeFile(
        file,
        `name: git.test
servers:
  - type: local
    parameters: { path: ${dir}/web }
certificate:
  type: DV
  certificate_authority: Local
  common_name: git.test
certificate_authorities:
  - name: Local test CA
    key: Local
    type: local-ca
    storage:
      type: git
      credentials: git_http
      parameters: { git_url: '${http.urlOf('ca.git')}', folder: ca }
    parameters: { ca_private_key: ca, ca_certificate: ca, create_if_missing: true }
storage:
  type: autossl.storage.gitscm.GitStorage
  parameters: { git_url: 'file://${remote}', folder: certs, branch: certificates }
credentials:
  git_http: { type: UserPassword }
`,
      );
      const [blueprint] = await loadBlueprints({ blueprint: file });
      const session: Session = {
        client: temporal.client,
        address: temporal.address,
        namespace: temporal.namespace,
        taskQueue,
        close: async () => {},
      };
      const workflowId = workflowIdFor(blueprint.name);
      const cycle = await requestCycle(session, blueprint, {});
      const { status } = await waitForCycle(session, workflowId, cycle, { out() {}, err() {} }, 60_000);
      assert.equal(status.state, 'Ready', status.reason);
      const serial = status.stored?.serial;
      assert.ok(serial);

      const inGit = await git('--git-dir', remote, 'show', 'certificates:certs/git.test.crt');
      assert.equal(parseCertificate(inGit).serial, serial);
      assert.equal(parseCertificate(await fs.readFile(path.join(dir, 'web/git.test.crt'), 'utf8')).serial, serial);
      const tree = await git('--git-dir', remote, 'ls-tree', '--name-only', 'certificates', 'certs/');
      assert.deepEqual(tree.split('\n').filter(Boolean).sort(), ['certs/git.test.crt', 'certs/git.test.csr', 'certs/git.test.key']);
      const messages = await commits(remote, 'certificates');
      assert.ok(
        messages.some((m) => m.includes(`certificate ${serial}`) && m.includes(`Workflow: ${workflowId}`)),
        messages.join('\n---\n'),
      );
      assert.ok((await git('--git-dir', path.join(dir, 'http/ca.git'), 'ls-tree', '--name-only', 'main', 'ca/')).includes('ca/ca.key'));

      let history = '';
      for await (const wf of temporal.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
        history += everyString(await temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
      }
      assert.match(history, /BEGIN CERTIFICATE REQUEST/, 'payloads were decoded');
      assert.doesNotMatch(history, /PRIVATE KEY/);
      for (const secret of SECRETS) assert.ok(!history.includes(secret), 'a password is in the workflow history');
      assert.ok(!printed.includes(PASSWORD));
    } finally {
      worker.shutdown();
      await running;
      await temporal.stop();
    }
  });
});
