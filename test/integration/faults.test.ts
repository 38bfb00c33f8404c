// Proof under fire: a peer of the lifecycle fails — the ACME CA, an SSH server, the git remote holding the
// artifacts, the disk of a local server — while a certificate is being issued and deployed. Each time the
// workflow keeps retrying, `autossl status` (the built CLI, text and --json) says what fails and why in words a
// person can act on, and once the peer is back the certificate ends up deployed with nobody poking the workflow.
//
// Real components on loopback: the Temporal dev server and a worker, Pebble, OpenSSH sshd, git http-backend behind
// Basic authentication, a 64 KiB tmpfs. The lifecycles run with a check interval of a few seconds: the workflow's
// back-off between failing cycles (1 minute, doubling) is capped by it, so their own retries come within the test.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it, type TestContext } from 'node:test';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import { retryingSteps, type RetryingStep } from '../../src/client/commands/status';
import { queryStatus, requestCycle } from '../../src/client/temporal';
import { workflowIdFor, type LifecycleStatus } from '../../src/workflows/definitions';
import { parseCertificate } from '../../src/x509';
import { runCli } from '../helpers/cli';
import { isolateGit, startGitHttp } from '../helpers/git-http';
import { everyString, startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';
import { serveAcmeDirs, startPebble } from '../helpers/pebble';
import { daysAgo, issueLeaf, makeCa, makeTempDir, writeBlueprint } from '../helpers/pki';
import { sshServerEntry, startSshd } from '../helpers/sshd';
import { mountTmpfs } from '../helpers/tmpfs';
import { eventually } from '../helpers/wait';

const execFileAsync = promisify(execFile);

/** Drift checks, and so retries of failing cycles, every few seconds instead of hourly. */
const CHECK_INTERVAL_MS = 5_000;
const RECOVERY_TIMEOUT_MS = 60_000;
const GIT_USER = 'cert-bot';
const GIT_PASSWORD = 'fault-p@ss:w/rd%40';

type StatusJson = LifecycleStatus & { workflowId: string; retrying: RetryingStep[] };

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

describe('faults: retried, shown by autossl status, recovered without a person', { concurrency: true }, () => {
  let dir: string;
  let harness: LifecycleHarness;
  const cleanups: (() => Promise<unknown>)[] = [];
  const savedEnv = { ...process.env };
  /** Everything the CLI printed, searched for secrets at the end. */
  const printed: string[] = [];

  before(async () => {
    dir = await fs.realpath(await makeTempDir('autossl-faults-'));
    // The worker runs in this process: git must see neither the machine's nor the user's configuration, and
    // its working clones go into this test's folder.
    await isolateGit(dir);
    harness = await startLifecycleHarness('faults-test', { GIT_HTTP_USERNAME: GIT_USER, GIT_HTTP_PASSWORD: GIT_PASSWORD });
  });

  after(async () => {
    try {
      await harness?.stop();
    } finally {
      // Whatever failed before: a leaked mount or daemon outlives the test run.
      for (const cleanup of cleanups.reverse()) await cleanup().catch((err: unknown) => console.error('cleanup failed:', err));
      for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
      Object.assign(process.env, savedEnv);
      if (dir) await fs.rm(dir, { recursive: true, force: true });
    }
    const all = printed.join('\n');
    assert.ok(!all.includes(GIT_PASSWORD) && !all.includes(encodeURIComponent(GIT_PASSWORD)), 'the git password was printed');
    assert.doesNotMatch(all, /PRIVATE KEY/);
  });

  async function blueprint(name: string, content: Record<string, unknown>): Promise<{ file: string; blueprint: Blueprint }> {
    const localCa = {
      name: 'Local test CA',
      key: 'Local',
      type: 'local-ca',
      storage: { type: 'local', parameters: { path: path.join(dir, name, 'ca') } },
      parameters: { ca_private_key: 'ca', ca_certificate: 'ca', create_if_missing: true },
    };
    const file = await writeBlueprint(
      dir,
      {
        name,
        certificate: { type: 'DV', certificate_authority: 'Local', common_name: name, private_key_type: 'ECDSA' },
        certificate_authorities: [localCa],
        storage: { type: 'local', parameters: { path: path.join(dir, name, 'storage') } },
        ...content,
      },
      `${name}.yaml`,
    );
    const [loaded] = await loadBlueprints({ blueprint: file });
    return { file, blueprint: loaded };
  }

  const start = (b: Blueprint) => requestCycle(harness.session, b, {}, { checkIntervalMs: CHECK_INTERVAL_MS });

  /** What the workflow reports and what Temporal is retrying for it, read in this process (cheap, for waiting). */
  async function current(b: Blueprint): Promise<{ status: LifecycleStatus; retrying: RetryingStep[] }> {
    const id = workflowIdFor(b.name);
    const [status, description] = await Promise.all([queryStatus(harness.session, id), harness.session.client.workflow.getHandle(id).describe()]);
    assert.ok(status, `no workflow ${id}`);
    return { status, retrying: retryingSteps(description.raw.pendingActivities ?? []) };
  }

  /** `autossl status` of one blueprint, as a person runs it: the JSON entry, the text, and the exit codes. */
  async function autosslStatus(file: string): Promise<{ json: StatusJson; jsonCode: number | null; text: string; textCode: number | null }> {
    const args = ['--blueprint', file, 'status', '--address', harness.temporal.address];
    const [json, text] = await Promise.all([runCli([...args, '--json'], { cwd: dir }), runCli(args, { cwd: dir })]);
    for (const out of [json, text]) {
      printed.push(out.stdout, out.stderr);
      assert.equal(out.stderr, '', 'status prints nothing on stderr');
      assert.doesNotMatch(out.stdout, /^\s+at \S+/m, 'no stack trace');
    }
    assert.doesNotMatch(text.stdout, /^  .*: (failed|out-of-date|unknown) -\s*$/m, 'every server line says why');
    const entries = JSON.parse(json.stdout) as StatusJson[];
    assert.equal(entries.length, 1);
    return { json: entries[0], jsonCode: json.code, text: text.stdout, textCode: text.code };
  }

  /** Status once the peer is back: Ready, every server ok, nothing failing or retrying, exit 0. */
  async function assertClean(file: string, b: Blueprint): Promise<StatusJson> {
    return eventually(`${b.name}: a clean status`, RECOVERY_TIMEOUT_MS, async () => {
      const { json, jsonCode, text, textCode } = await autosslStatus(file);
      assert.equal(json.state, 'Ready', `${json.state}: ${json.reason}`);
      assert.deepEqual(json.retrying, []);
      assert.ok(
        json.servers.every((s) => s.state === 'ok' && s.lastError === undefined),
        JSON.stringify(json.servers),
      );
      assert.equal(json.lastCycle?.error, undefined);
      assert.equal(jsonCode, 0);
      assert.equal(textCode, 0, text);
      assert.match(text, new RegExp(`^${escape(b.name)}\\s+Ready\\s`, 'm'));
      assert.doesNotMatch(text, /retrying|failed|out-of-date/);
      return json;
    });
  }

  /** What a person saw: in the test's output, for whoever wonders what a fault looks like. */
  const shown = (t: TestContext, text: string) => {
    t.diagnostic('autossl status under the fault:');
    for (const line of text.trimEnd().split('\n')) t.diagnostic(`  ${line}`);
  };

  const serialOf = async (file: string) => parseCertificate(await fs.readFile(file, 'utf8')).serial;

  async function finish(t: TestContext, b: Blueprint, since: number): Promise<void> {
    t.diagnostic(`${b.name}: recovered ${((Date.now() - since) / 1000).toFixed(1)} s after the peer came back`);
    // Its drift checks every few seconds would only load the machine from now on.
    await harness.session.client.workflow.getHandle(workflowIdFor(b.name)).terminate('test done');
  }

  it('ACME CA unreachable: the order is retried, status names the CA and the refused connection; issued once it is back', async (t) => {
    const name = 'acme.faults.test';
    const acmeDir = path.join(dir, name, 'acme');
    await fs.mkdir(acmeDir, { recursive: true });
    const pebble = await startPebble();
    cleanups.push(() => pebble.stop());
    const web = await serveAcmeDirs(pebble.httpPort, [acmeDir]);
    cleanups.push(() => web.close());
    const caPort = new URL(pebble.directoryUrl).port;
    const { file, blueprint: b } = await blueprint(name, {
      servers: [{ type: 'local', parameters: { path: path.join(dir, name, 'web'), acme_dir: acmeDir } }],
      certificate: { type: 'DV', certificate_authority: 'Pebble', common_name: name, private_key_type: 'ECDSA' },
      certificate_authorities: [
        {
          name: 'Pebble',
          key: 'Pebble',
          type: 'acme',
          acme_api: { production: pebble.directoryUrl },
          storage: { type: 'local', name: 'account', parameters: { path: path.join(dir, name, 'ca') } },
          parameters: { ca_bundle: pebble.caBundlePath },
        },
      ],
    });

    await pebble.stopCa();
    await start(b);
    const unreachable = `certificate authority 'Pebble' (acme): no answer from https://localhost:${caPort} (ECONNREFUSED)`;
    // Two failed attempts: it is being retried, not merely tried.
    await eventually('the order retried', 30_000, async () => {
      const { retrying } = await current(b);
      assert.ok(
        retrying.some((r) => r.activity === 'issueCertificate' && r.failedAttempts >= 2),
        JSON.stringify(retrying),
      );
    });
    const failing = await eventually('status showing the CA failure', 30_000, async () => {
      const seen = await autosslStatus(file);
      assert.equal(seen.json.state, 'Renewing');
      const [order] = seen.json.retrying;
      assert.equal(order?.step, 'order the certificate from the CA', JSON.stringify(seen.json.retrying));
      assert.equal(order.error, unreachable);
      assert.equal(order.errorType, 'PluginIoError');
      assert.ok(order.maximumAttempts > order.failedAttempts, 'attempts are left');
      assert.equal(seen.jsonCode, 1);
      assert.equal(seen.textCode, 1);
      assert.match(seen.text, new RegExp(`^${escape(name)}\\s+Renewing\\s`, 'm'));
      assert.match(
        seen.text,
        new RegExp(
          `^  ${escape(name)} retrying order the certificate from the CA: attempt \\d+ of \\d+ failed, (next in \\d+ s|attempt \\d+ running): ${escape(unreachable)}$`,
          'm',
        ),
      );
      shown(t, seen.text);
      return seen;
    });
    assert.equal(failing.json.stored, null);

    await pebble.startCa();
    const back = Date.now();
    const ready = await assertClean(file, b);
    assert.equal(ready.lastCycle?.renewed, true);
    assert.equal(await serialOf(path.join(dir, name, 'web', `${name}.crt`)), ready.stored?.serial);
    assert.match(ready.stored!.issuer, /Pebble/, 'issued by Pebble');
    assert.deepEqual(await fs.readdir(acmeDir), [], 'no challenge file left');
    await finish(t, b, back);
  });

  it('SSH server unreachable: deploys are retried cycle after cycle, status names the server and ECONNREFUSED; deployed once it is back', async (t) => {
    const name = 'ssh.faults.test';
    const sshd = await startSshd();
    cleanups.push(() => sshd.stop());
    const folder = path.join(dir, name, 'web');
    const { file, blueprint: b } = await blueprint(name, {
      servers: [sshServerEntry(sshd, folder)],
    });
    const label = `ssh:${sshd.username}@127.0.0.1:${sshd.port}:${folder}`;
    const refused = `cannot connect to 127.0.0.1:${sshd.port}: connection refused (ECONNREFUSED)`;

    await sshd.kill();
    await start(b);
    // Failed in two cycles: the workflow retries on its own after its deploy attempts are spent.
    await eventually('two failed cycles', 45_000, async () => {
      const server = (await current(b)).status.servers[0];
      assert.ok(server.failures >= 2, JSON.stringify(server));
    });
    // Degraded is the state between cycles (one every few seconds here): status is read until it catches one.
    const failing = await eventually('status showing the SSH failure', 45_000, async () => {
      const seen = await autosslStatus(file);
      assert.equal(seen.json.state, 'Degraded', seen.json.reason);
      assert.equal(seen.json.reason, `${label}: ${refused}`);
      const [server] = seen.json.servers;
      assert.equal(server.label, label);
      assert.equal(server.state, 'failed');
      assert.equal(server.lastError, `${label}: ${refused}`);
      assert.ok(Date.parse(seen.json.nextWakeAt!) - Date.now() <= CHECK_INTERVAL_MS, 'the next try is scheduled');
      assert.equal(seen.textCode, 1);
      assert.match(seen.text, new RegExp(`^${escape(name)}\\s+Degraded\\s.*0/1`, 'm'));
      assert.match(seen.text, new RegExp(`^  ${escape(name)} ${escape(label)}: failed - ${escape(refused)}$`, 'm'));
      shown(t, seen.text);
      return seen;
    });
    assert.ok(failing.json.stored, 'the certificate was issued meanwhile');
    await assert.rejects(fs.access(folder), 'nothing reached the server');

    await sshd.start();
    const back = Date.now();
    const ready = await assertClean(file, b);
    assert.equal(ready.stored?.serial, failing.json.stored.serial, 'the same certificate, not a new one');
    assert.equal(await serialOf(path.join(folder, `${name}.crt`)), ready.stored?.serial);
    assert.deepEqual((await fs.readdir(folder)).sort(), [`${name}.crt`, `${name}.key`], 'no temporary files');
    await finish(t, b, back);
  });

  it('git remote unreachable: storage reads are retried, the cycle fails and is retried, status names the remote; stored once it is back', async (t) => {
    const name = 'git.faults.test';
    const root = path.join(dir, name, 'remote');
    const remote = path.join(root, 'artifacts.git');
    await execFileAsync('git', ['init', '-q', '--bare', '-b', 'main', remote]);
    const first = await startGitHttp({ projectRoot: root, username: GIT_USER, password: GIT_PASSWORD });
    const url = first.urlOf('artifacts.git');
    await first.stop();
    const { file, blueprint: b } = await blueprint(name, {
      servers: [{ type: 'local', parameters: { path: path.join(dir, name, 'web') } }],
      storage: { type: 'git', credentials: 'git_http', parameters: { git_url: url } },
      credentials: { git_http: { type: 'UserPassword' } },
    });
    const down = new RegExp(
      `^storage git:${escape(url)}: cannot (read the remote|fetch): .*(Failed to connect|Couldn't connect|Connection refused)`,
      'i',
    );

    await start(b);
    await eventually('storage reads retried', 30_000, async () => {
      const { retrying } = await current(b);
      assert.ok(
        retrying.some((r) => r.activity === 'inspect' && r.failedAttempts >= 2),
        JSON.stringify(retrying),
      );
    });
    await eventually('status showing the git failure while retrying', 30_000, async () => {
      const seen = await autosslStatus(file);
      const [reading] = seen.json.retrying;
      assert.equal(reading?.step, 'inspect storage and servers', JSON.stringify(seen.json.retrying));
      assert.match(reading.error, down);
      assert.equal(reading.errorType, 'PluginIoError');
      assert.match(
        seen.text,
        new RegExp(`^  ${escape(name)} retrying inspect storage and servers: attempt \\d+ of \\d+ failed, .*: storage git:${escape(url)}: `, 'm'),
      );
      shown(t, seen.text);
    });
    // Its attempts spent, the cycle fails, saying why; the workflow then starts another on its own.
    await eventually('the cycle failed', 60_000, async () => assert.equal((await current(b)).status.state, 'RenewalFailed'));
    await eventually('status showing the failed cycle', 60_000, async () => {
      const seen = await autosslStatus(file);
      assert.equal(seen.json.state, 'RenewalFailed');
      assert.match(seen.json.reason, down);
      assert.equal(seen.json.lastCycle?.outcome, 'failed');
      assert.match(seen.text, new RegExp(`^${escape(name)}\\s+RenewalFailed\\s.*storage git:${escape(url)}: cannot`, 'm'));
      shown(t, seen.text);
    });
    const failedCycle = (await current(b)).status.cycles;
    await eventually('another cycle retrying', 30_000, async () => {
      const { status, retrying } = await current(b);
      assert.ok(status.cycles > failedCycle, `cycle ${status.cycles}`);
      assert.ok(
        retrying.some((r) => r.activity === 'inspect'),
        JSON.stringify(retrying),
      );
    });

    const again = await startGitHttp({ projectRoot: root, username: GIT_USER, password: GIT_PASSWORD, port: first.port });
    cleanups.push(() => again.stop());
    const back = Date.now();
    const ready = await assertClean(file, b);
    const serial = ready.stored?.serial;
    const { stdout: inGit } = await execFileAsync('git', ['--git-dir', remote, 'show', `main:${name}.crt`]);
    assert.equal(parseCertificate(inGit).serial, serial, 'the certificate is in the remote');
    assert.equal(await serialOf(path.join(dir, name, 'web', `${name}.crt`)), serial);
    assert.ok(
      again.requests.some((r) => r.authorised && r.path.endsWith('/git-receive-pack')),
      'pushed with the password',
    );
    // Failures are recorded in history with git's words: the password must be in none of them.
    let history = '';
    for await (const run of harness.temporal.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(name)}'` })) {
      history += everyString(await harness.temporal.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory());
    }
    assert.match(history, /Failed to connect|Couldn't connect/, 'the failures are in the history');
    assert.ok(!history.includes(GIT_PASSWORD) && !history.includes(encodeURIComponent(GIT_PASSWORD)), 'the git password is in the history');
    assert.doesNotMatch(history, /PRIVATE KEY/);
    await finish(t, b, back);
  });

  it('local server disk full: deploys fail with "no space left on device", the old pair stays, no partial file; deployed once space is freed', async (t) => {
    const name = 'full.faults.test';
    const mount = path.join(dir, name, 'disk');
    const disk = await mountTmpfs(mount, '64k');
    if ('refused' in disk) return t.skip(disk.refused);
    cleanups.push(() => disk.unmount());
    // The previous pair, which a failed deploy must leave as it is. Issued well before the renewal: a server
    // certificate expiring no earlier than the stored one is left alone, and X.509 times have whole seconds.
    const old = await issueLeaf(await makeCa({ commonName: 'Old CA' }), { domains: [name], issuedAt: daysAgo(30) });
    await fs.writeFile(path.join(mount, `${name}.key`), old.keyPem, { mode: 0o600 });
    await fs.writeFile(path.join(mount, `${name}.crt`), old.certPem);
    await disk.fill();
    const { file, blueprint: b } = await blueprint(name, { servers: [{ type: 'local', parameters: { path: mount } }] });
    const label = `local:${mount}`;
    const full = `cannot write ${path.join(mount, `${name}.key`)}: no space left on device (ENOSPC)`;

    await start(b);
    await eventually('two failed cycles', 45_000, async () => {
      const server = (await current(b)).status.servers[0];
      assert.ok(server.failures >= 2, JSON.stringify(server));
    });
    await eventually('status showing the full disk', 45_000, async () => {
      const seen = await autosslStatus(file);
      assert.equal(seen.json.state, 'Degraded', seen.json.reason);
      assert.equal(seen.json.servers[0].lastError, `${label}: ${full}`);
      assert.equal(seen.textCode, 1);
      assert.match(seen.text, new RegExp(`^  ${escape(name)} ${escape(label)}: failed - ${escape(full)}$`, 'm'));
      shown(t, seen.text);
    });
    assert.equal(await fs.readFile(path.join(mount, `${name}.key`), 'utf8'), old.keyPem, 'the old key is in place');
    assert.equal(await fs.readFile(path.join(mount, `${name}.crt`), 'utf8'), old.certPem);

    await disk.free();
    const back = Date.now();
    const ready = await assertClean(file, b);
    assert.equal(await serialOf(path.join(mount, `${name}.crt`)), ready.stored?.serial);
    assert.equal((await fs.stat(path.join(mount, `${name}.key`))).mode & 0o777, 0o600);
    // Temporary and backup files of every failed attempt would still be here: their names are random.
    assert.deepEqual((await fs.readdir(mount)).sort(), [`${name}.crt`, `${name}.key`]);
    await finish(t, b, back);
  });
});
