// SSH servers through the real lifecycle workflow: a Temporal dev server, the worker, LocalCa, OpenSSH sshd
// instances and an nginx reloaded by the deploy, all on loopback. The deployed files are read back from disk (the
// "remote" machine is this one) and the served certificate through a TLS handshake.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadBlueprints } from '../../src/catalog';
import type { Blueprint } from '../../src/blueprint/types';
import type { BlueprintReport } from '../../src/inspect/report';
import { requestCycle, waitForCycle, type Session } from '../../src/client/temporal';
import { servedCertificate } from '../../src/plugins/tls-probe';
import { workflowIdFor } from '../../src/workflows/definitions';
import { parseCertificate } from '../../src/x509';
import { runCli } from '../helpers/cli';
import { startNginx, type TestNginx } from '../helpers/nginx';
import { issueLeaf, makeCa, makeTempDir, writeBlueprint } from '../helpers/pki';
import { sshServerEntry, startSshd, type TestSshd } from '../helpers/sshd';
import type { TestDevServer } from '../helpers/temporal';
import { everyString, startLifecycleHarness, type LifecycleHarness } from '../helpers/lifecycle';

const silent = { out() {}, err() {} };

describe('SSH servers through the lifecycle workflow', () => {
  let dir: string;
  let temporal: TestDevServer;
  let harness: LifecycleHarness;
  let session: Session;
  let web1: TestSshd;
  let web2: TestSshd;
  let faulty: TestSshd;
  let nginx: TestNginx;
  const taskQueue = 'ssh-server-test';

  before(async () => {
    dir = await makeTempDir('autossl-ssh-');
    [harness, web1, web2, faulty] = await Promise.all([
      startLifecycleHarness(taskQueue),
      startSshd(),
      startSshd(),
      startSshd({ failRenameTo: '.crt' }),
    ]);
    nginx = await startNginx({
      certificateFile: path.join(dir, 'two/web-1/two.ssh.test.crt'),
      keyFile: path.join(dir, 'two/web-1/two.ssh.test.key'),
    });
    ({ temporal, session } = harness);
  });

  after(async () => {
    await harness?.stop();
    await Promise.allSettled([web1?.stop(), web2?.stop(), faulty?.stop(), nginx?.stop()]);
    await fs.rm(dir, { recursive: true, force: true });
  });

  /** An SSH server entry logging in with the sshd's user key and checking its host key against its known_hosts. */
  const ssh = (sshd: TestSshd, folder: string, extra: Record<string, unknown> = {}) => sshServerEntry(sshd, path.join(dir, folder), extra);

  async function blueprint(name: string, servers: unknown[]): Promise<{ file: string; blueprint: Blueprint }> {
    const file = await writeBlueprint(
      dir,
      {
        name,
        servers,
        certificate: { type: 'DV', certificate_authority: 'Local', common_name: name, private_key_type: 'ECDSA' },
        certificate_authorities: [
          {
            name: 'Local test CA',
            key: 'Local',
            type: 'local-ca',
            storage: { type: 'local', parameters: { path: path.join(dir, 'ca') } },
            parameters: { ca_private_key: 'ca', ca_certificate: 'ca', create_if_missing: true },
          },
        ],
        storage: { type: 'local', parameters: { path: path.join(dir, name, 'storage') } },
      },
      `${name}.yaml`,
    );
    const [loaded] = await loadBlueprints({ blueprint: file });
    return { file, blueprint: loaded };
  }

  async function cycle(b: Blueprint, request: { force?: boolean } = {}) {
    const id = await requestCycle(session, b, request);
    const { status, finished } = await waitForCycle(session, workflowIdFor(b.name), id, silent, 45_000);
    assert.equal(finished, true);
    return status;
  }

  const serialOf = async (file: string) => parseCertificate(await fs.readFile(file, 'utf8')).serial;
  const servedSerial = async () =>
    parseCertificate((await servedCertificate({ host: '127.0.0.1', port: nginx.port }, { timeoutMs: 5_000 })).toString()).serial;

  it('deploys to two SSH servers, reloads nginx, which then serves the new certificate; one server down, then back', async () => {
    const { file, blueprint: b } = await blueprint('two.ssh.test', [
      ssh(web1, 'two/web-1', { reload_command: nginx.reloadCommand, verify: `127.0.0.1:${nginx.port}` }),
      // The class path, a pinned fingerprint instead of known_hosts, and the full chain.
      {
        ...ssh(web2, 'two/web-2', { known_hosts_file: undefined, host_key_fingerprint: web2.hostKeyFingerprint, deploy_full_chain: true }),
        type: 'autossl.server.ssh.SshServer',
      },
    ]);
    const placeholder = await servedSerial();

    const first = await cycle(b);
    assert.equal(first.state, 'Ready', `${first.reason} ${JSON.stringify(first.servers)}`);
    assert.deepEqual([...first.lastCycle!.deployed].sort(), b.servers.map((s) => s.id).sort());
    const serial = first.stored!.serial;
    assert.equal(await serialOf(path.join(dir, 'two/web-1/two.ssh.test.crt')), serial);
    assert.equal((await fs.stat(path.join(dir, 'two/web-1/two.ssh.test.key'))).mode & 0o777, 0o600);
    assert.equal((await fs.stat(path.join(dir, 'two/web-1/two.ssh.test.crt'))).mode & 0o777, 0o644);
    const chain = await fs.readFile(path.join(dir, 'two/web-2/two.ssh.test.crt'), 'utf8');
    assert.equal(chain.match(/BEGIN CERTIFICATE/g)?.length, 2, 'deploy_full_chain writes leaf + CA');
    assert.notEqual(placeholder, serial);
    assert.equal(await servedSerial(), serial, `nginx serves the deployed certificate\n${nginx.log()}`);
    assert.deepEqual((await fs.readdir(path.join(dir, 'two/web-1'))).sort(), ['two.ssh.test.crt', 'two.ssh.test.key'], 'no temporary files left');

    // web-2 goes down: web-1 still gets the renewed certificate, and nginx serves it.
    await web2.kill();
    const partial = await cycle(b, { force: true });
    const renewed = partial.stored!.serial;
    assert.notEqual(renewed, serial);
    assert.equal(partial.state, 'Degraded');
    assert.equal(partial.lastCycle?.outcome, 'partial');
    assert.deepEqual(partial.lastCycle?.deployed, [b.servers[0].id]);
    assert.equal(partial.lastCycle?.failed[0].id, b.servers[1].id);
    assert.match(partial.lastCycle!.failed[0].error, /cannot connect to 127\.0\.0\.1:\d+: connection refused \(ECONNREFUSED\)/);
    assert.equal(await servedSerial(), renewed);
    assert.equal(await serialOf(path.join(dir, 'two/web-2/two.ssh.test.crt')), serial, 'the unreachable server kept the old one');

    // Back up: the next cycle brings it up to date without renewing.
    await web2.start();
    const healed = await cycle(b);
    assert.equal(healed.state, 'Ready', healed.reason);
    assert.equal(healed.lastCycle?.renewed, false);
    assert.deepEqual(healed.lastCycle?.deployed, [b.servers[1].id]);
    assert.equal(await serialOf(path.join(dir, 'two/web-2/two.ssh.test.crt')), renewed);

    // `check` reads both servers over SSH, without Temporal.
    const { code, stdout, stderr } = await runCli(['--blueprint', file, 'check', '--json']);
    assert.equal(code, 0, stderr);
    const [report] = (JSON.parse(stdout) as { certificates: BlueprintReport[] }).certificates;
    assert.equal(report.verdict, 'up-to-date');
    assert.deepEqual(
      report.servers.map((s) => [s.label, s.certificate?.serial, s.error]),
      [
        [`ssh:${web1.username}@127.0.0.1:${web1.port}:${path.join(dir, 'two/web-1')}`, renewed, undefined],
        [`ssh:${web2.username}@127.0.0.1:${web2.port}:${path.join(dir, 'two/web-2')}`, renewed, undefined],
      ],
    );
  });

  it('refuses an unknown host key and a changed one, with the offered fingerprint, in status and history', async () => {
    const empty = path.join(dir, 'empty_known_hosts');
    await fs.writeFile(empty, '');
    // web-2's key listed for web-1's address: what a man in the middle looks like.
    const wrong = path.join(dir, 'wrong_known_hosts');
    const web2Key = (await fs.readFile(web2.knownHostsFile, 'utf8')).split(' ').slice(1).join(' ');
    await fs.writeFile(wrong, `[127.0.0.1]:${web1.port} ${web2Key}`);
    const { blueprint: b } = await blueprint('hostkey.ssh.test', [
      ssh(web1, 'hostkey/unknown', { known_hosts_file: empty }),
      ssh(web1, 'hostkey/changed', { known_hosts_file: wrong }),
    ]);

    const status = await cycle(b);
    assert.notEqual(status.state, 'Ready');
    const [unknown, changed] = b.servers.map((s) => status.servers.find((x) => x.id === s.id)!);
    const offered = `ssh-ed25519 ${web1.hostKeyFingerprint}`;
    assert.equal(unknown.state, 'failed');
    assert.match(
      unknown.lastError ?? '',
      new RegExp(`unknown host key for \\[127\\.0\\.0\\.1\\]:${web1.port}: the server offered ${offered.replace(/[+/]/g, '\\$&')}`),
    );
    assert.equal(changed.state, 'failed');
    assert.match(changed.lastError ?? '', /host key of .* has changed/);
    assert.ok(changed.lastError!.includes(web1.hostKeyFingerprint), changed.lastError);
    // Nothing was sent to a server that could not be trusted.
    await assert.rejects(fs.access(path.join(dir, 'hostkey')));

    // The run that deployed (the cycle ends with continue-as-new): its failed activity, type and message.
    const failed = [];
    for await (const wf of temporal.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(b.name)}'` })) {
      const { events } = await temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory();
      failed.push(...(events ?? []).flatMap((e) => e.activityTaskFailedEventAttributes?.failure ?? []));
    }
    assert.ok(
      failed.some(
        (f) =>
          f.applicationFailureInfo?.type === 'PluginConfigError' &&
          f.message?.includes(`unknown host key for [127.0.0.1]:${web1.port}: the server offered ${offered}`),
      ),
      JSON.stringify(failed.map((f) => f.message)),
    );
  });

  it('leaves the previous key and certificate in place when a deploy fails half-way', async () => {
    const folder = path.join(dir, 'atomic/web');
    const ca = await makeCa({ commonName: 'Old CA' });
    const old = await issueLeaf(ca, { domains: ['atomic.ssh.test'] });
    await fs.mkdir(folder, { recursive: true });
    await fs.writeFile(path.join(folder, 'atomic.ssh.test.key'), old.keyPem, { mode: 0o600 });
    await fs.writeFile(path.join(folder, 'atomic.ssh.test.crt'), old.certPem);
    // This sshd fails every rename onto a .crt: the key is replaced first, then the certificate's rename fails.
    const { blueprint: b } = await blueprint('atomic.ssh.test', [ssh(faulty, 'atomic/web')]);

    const status = await cycle(b);
    assert.equal(status.lastCycle?.renewed, true);
    assert.deepEqual(status.lastCycle?.deployed, []);
    assert.match(status.lastCycle?.failed[0]?.error ?? '', /cannot replace .*atomic\.ssh\.test\.crt \(SSH_FX_FAILURE\)/);
    assert.equal(await fs.readFile(path.join(folder, 'atomic.ssh.test.key'), 'utf8'), old.keyPem, 'the old key is back');
    assert.equal(await fs.readFile(path.join(folder, 'atomic.ssh.test.crt'), 'utf8'), old.certPem);
    assert.deepEqual((await fs.readdir(folder)).sort(), ['atomic.ssh.test.crt', 'atomic.ssh.test.key'], 'no temporary or backup files left');
  });

  it('never records a private key in the history', async () => {
    for (const name of ['two.ssh.test', 'hostkey.ssh.test', 'atomic.ssh.test']) {
      for await (const wf of temporal.client.workflow.list({ query: `WorkflowId = '${workflowIdFor(name)}'` })) {
        const history = everyString(await temporal.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
        assert.doesNotMatch(history, /PRIVATE KEY/, `${name} run ${wf.runId}`);
      }
    }
  });
});
