// The SSH server's host key checking (known_hosts, pinned fingerprints), its parameter checks, and its
// connection timeout and cancellation against a loopback socket that never speaks SSH. The deploys themselves
// are tested against a real sshd in test/integration/ssh-server.test.ts.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { CancelledFailure } from '@temporalio/common';
import type { ServerSpec } from '../../src/blueprint/types';
import { PluginConfigError, PluginIoError } from '../../src/plugins/errors';
import { createSshServer } from '../../src/plugins/servers/ssh';
import { fingerprint, hostKeyAlgorithms, judgeHostKey, knownHostsName, knownKeysFor, normaliseFingerprint } from '../../src/plugins/ssh-host-key';
import { parseEndpoint } from '../../src/plugins/tls-probe';
import type { PluginContext, ServerPlugin } from '../../src/plugins/types';

let dir: string;
/** Two ed25519 public keys made by ssh-keygen: [type, base64, blob, ssh-keygen's own fingerprint]. */
let keys: { type: string; base64: string; blob: Buffer; fingerprint: string }[];

before(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-ssh-unit-'));
  keys = ['a', 'b'].map((name) => {
    const file = path.join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file]);
    const [type, base64] = execFileSync('cat', [`${file}.pub`])
      .toString()
      .split(' ');
    const printed = /SHA256:\S+/.exec(execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`]).toString())![0];
    return { type, base64, blob: Buffer.from(base64, 'base64'), fingerprint: printed };
  });
});
after(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

describe('host keys', () => {
  test('fingerprints read like ssh-keygen -l', () => {
    for (const k of keys) assert.equal(fingerprint(k.blob), k.fingerprint);
    assert.equal(normaliseFingerprint(`${keys[0].fingerprint}=`), keys[0].fingerprint);
    assert.equal(normaliseFingerprint('MD5:aa:bb'), undefined);
    assert.equal(normaliseFingerprint('SHA256:short'), undefined);
  });

  test('known_hosts names: bare on port 22, [host]:port elsewhere, patterns, negation, hashed, markers', () => {
    const [a, b] = keys;
    assert.equal(knownHostsName('web', 22), 'web');
    assert.equal(knownHostsName('10.0.0.1', 2222), '[10.0.0.1]:2222');
    const text = [
      '# comment',
      '',
      `web,web.example.test ${a.type} ${a.base64} plain`,
      `[web]:2222 ${b.type} ${b.base64}`,
      `*.example.test,!bad.example.test ${b.type} ${b.base64}`,
      `@cert-authority *.example.test ${a.type} ${a.base64}`,
      `@revoked old.example.test ${a.type} ${a.base64}`,
    ].join('\n');
    const found = (name: string) => knownKeysFor(text, name).map((k) => [k.blob.equals(a.blob) ? 'a' : 'b', k.revoked, k.line]);
    assert.deepEqual(found('web'), [['a', false, 3]]);
    assert.deepEqual(found('WEB.example.test'), [
      ['a', false, 3],
      ['b', false, 5],
    ]);
    assert.deepEqual(found('[web]:2222'), [['b', false, 4]]);
    assert.deepEqual(found('bad.example.test'), []);
    assert.deepEqual(found('old.example.test'), [
      ['b', false, 5],
      ['a', true, 7],
    ]);
    assert.deepEqual(found('other'), []);

    // HashKnownHosts: ssh-keygen -H hashes the names; the lookup still finds them.
    const file = path.join(dir, 'known_hosts');
    execFileSync('sh', ['-c', `printf '%s\\n' '[127.0.0.1]:2200 ${a.type} ${a.base64}' > ${file} && ssh-keygen -q -H -f ${file}`]);
    const hashed = execFileSync('cat', [file]).toString();
    assert.match(hashed, /^\|1\|/);
    assert.equal(knownKeysFor(hashed, '[127.0.0.1]:2200').length, 1);
    assert.equal(knownKeysFor(hashed, '[127.0.0.1]:2201').length, 0);
  });

  test('verdicts: trusted, unknown, changed, revoked', () => {
    const [a, b] = keys;
    const known = (blob: Buffer, revoked = false) => ({ type: a.type, blob, revoked, line: 1 });
    assert.deepEqual(judgeHostKey(a.blob, [known(a.blob)]), { trusted: true });
    assert.deepEqual(judgeHostKey(a.blob, []), { trusted: false, reason: 'unknown' });
    assert.deepEqual(judgeHostKey(a.blob, [known(b.blob)]), { trusted: false, reason: 'mismatch', expected: b.fingerprint, line: 1 });
    assert.deepEqual(judgeHostKey(a.blob, [known(a.blob), known(a.blob, true)]), { trusted: false, reason: 'revoked', line: 1 });
  });

  test('the host key types known for a host decide which ones are asked for', () => {
    assert.deepEqual(hostKeyAlgorithms(['ssh-rsa']), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.deepEqual(hostKeyAlgorithms(['ssh-rsa', 'ssh-ed25519']), ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.deepEqual(hostKeyAlgorithms(['sk-ssh-ed25519@openssh.com']), []);
  });
});

test('verify endpoints', () => {
  assert.deepEqual(parseEndpoint('web.example.test:443'), { host: 'web.example.test', port: 443 });
  assert.deepEqual(parseEndpoint('[::1]:8443'), { host: '::1', port: 8443 });
  for (const bad of ['web', 'web:0', 'web:70000', '::1:443', 'web: 443']) assert.equal(parseEndpoint(bad), undefined, bad);
});

const noCredentials = { credentials: { resolve: async () => ({}) }, activity: () => undefined } as unknown as PluginContext;

function sshServer(parameters: Record<string, unknown>, ctx = noCredentials): ServerPlugin {
  const spec: ServerSpec = {
    type: 'ssh',
    declaredType: 'ssh',
    id: 'ssh:test',
    crtName: 'site',
    parameters: { host: '127.0.0.1', path: '/srv/tls', ...parameters },
  };
  return createSshServer(spec, ctx) as ServerPlugin;
}

describe('parameters', () => {
  test('are checked when the plugin is made, naming the server', () => {
    const refused = (parameters: Record<string, unknown>, message: RegExp) =>
      assert.throws(
        () => sshServer(parameters),
        (err: unknown) => err instanceof PluginConfigError && message.test(err.message),
      );
    refused({ host: undefined }, /needs a 'host'/);
    refused({ path: undefined }, /needs a 'path'/);
    refused({ port: 0 }, /not a TCP port/);
    refused({ host_key_fingerprint: 'aa:bb:cc' }, /SHA256 form/);
    refused({ key_mode: '0644' }, /^ssh:127\.0\.0\.1:22:\/srv\/tls: key_mode 0644 would let every user on the server read the private key/);
    refused({ key_mode: 640 }, /octal mode in quotes/);
    refused({ cert_mode: '0999' }, /octal mode in quotes/);
    refused({ owner: 'root; rm -rf /' }, /numeric id or a user\/group name/);
    refused({ verify: 'https://web' }, /host:port/);
    refused({ connect_timeout: 0 }, /positive/);
    assert.equal(sshServer({ username: 'deploy', port: 2222 }).describe(), 'ssh:deploy@127.0.0.1:2222:/srv/tls');
  });

  test('no way to log in is a configuration error', async () => {
    const agent = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      const server = sshServer({ username: 'deploy' });
      await assert.rejects(server.readCurrent(), (err: unknown) => err instanceof PluginConfigError && /no way to log in/.test(err.message));
    } finally {
      if (agent !== undefined) process.env.SSH_AUTH_SOCK = agent;
    }
  });

  test('a private key file that is not a key is refused without showing its content', async () => {
    const file = path.join(dir, 'not-a-key');
    await fs.writeFile(file, 'secret-looking-content');
    const server = sshServer({ username: 'deploy', private_key_file: file });
    await assert.rejects(server.readCurrent(), (err: unknown) => {
      assert.ok(err instanceof PluginConfigError);
      assert.match(err.message, /is not a private key SSH can use/);
      assert.doesNotMatch(err.message, /secret-looking/);
      return true;
    });
  });
});

describe('connections', () => {
  /** A loopback socket that accepts connections and never answers: an SSH server that hangs. */
  let silent: net.Server;
  let port: number;
  const sockets = new Set<net.Socket>();
  before(async () => {
    silent = net.createServer((s) => sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    port = (silent.address() as net.AddressInfo).port;
  });
  after(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => silent.close(resolve));
  });

  const hanging = () =>
    sshServer({ port, username: 'deploy', private_key_file: path.join(dir, 'a'), accept_unknown_host_key: true, connect_timeout: 1 });

  test('time out after connect_timeout with a retryable error', async () => {
    const server = hanging();
    const started = Date.now();
    await assert.rejects(
      server.readCurrent(),
      (err: unknown) => err instanceof PluginIoError && /no SSH session with 127\.0\.0\.1:\d+ within 1 s/.test(err.message),
    );
    assert.ok(Date.now() - started < 3_000);
    await server.close();
  });

  test('a refused connection is retryable and says so in words', async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const server = sshServer({ port: closedPort, username: 'deploy', private_key_file: path.join(dir, 'a'), accept_unknown_host_key: true });
    await assert.rejects(server.readCurrent(), (err: unknown) => {
      assert.ok(err instanceof PluginIoError, String(err));
      assert.equal(err.detail, `cannot connect to 127.0.0.1:${closedPort}: connection refused (ECONNREFUSED)`);
      return true;
    });
    await server.close();
  });

  test('outside an activity (check), load no @temporalio module', async () => {
    const plugin = require.resolve('../../src/plugins/servers/ssh');
    const script = `
      const { createSshServer } = require(${JSON.stringify(plugin)});
      const spec = { type: 'ssh', declaredType: 'ssh', id: 'x', crtName: 'site', parameters: ${JSON.stringify({ host: '127.0.0.1', port, path: '/srv/tls', username: 'deploy', private_key_file: path.join(dir, 'a'), accept_unknown_host_key: true, connect_timeout: 1 })} };
      const server = createSshServer(spec, { credentials: { resolve: async () => ({}) } });
      server.readCurrent().catch(() => undefined).then(() => server.close()).then(() => {
        process.stdout.write(JSON.stringify(Object.keys(require.cache).filter((m) => m.includes('@temporalio'))));
      });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script]);
    assert.deepEqual(JSON.parse(stdout), []);
  });

  test('give up at once when the activity is cancelled', async () => {
    // The activity layer hands the plugin its activity's cancellation signal.
    const cancellation = new AbortController();
    const inActivity = { ...noCredentials, activity: () => ({ cancellation: cancellation.signal, log: { info() {} } }) };
    const server = sshServer({ port, username: 'deploy', private_key_file: path.join(dir, 'a'), accept_unknown_host_key: true }, inActivity);
    const started = Date.now();
    const reading = server.readCurrent();
    setTimeout(() => cancellation.abort(new CancelledFailure('activity cancelled')), 200);
    await assert.rejects(reading, CancelledFailure);
    assert.ok(Date.now() - started < 2_000, 'well before the 15 s connect timeout');
    await server.close();
  });
});
