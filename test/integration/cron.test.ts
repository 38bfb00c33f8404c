// Cron-style runs, as an AutoSSL user's crontab makes them: the built CLI with no Temporal address and nothing
// running, so each command starts the embedded server over the data dir's database, does its work with a worker
// of its own and stops. What one run did is there for the next: history accumulates, a run killed in the middle
// of a renewal is completed by the next one, two runs at once take turns.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { canConnect, freePort } from '../../src/worker/dev-server';
import { readLockOwner } from '../../src/worker/data-dir-lock';
import { keyMatchesCertificate, parseCertificate, signCertificate } from '../../src/x509';
import { BIN, REPO, runCli, type CliResult } from '../helpers/cli';
import { serveAcmeDirs, startPebble } from '../helpers/pebble';
import { makeCa, makeTempDir } from '../helpers/pki';
import { temporalBinary } from '../helpers/temporal';
import { until } from '../helpers/wait';

let root: string;
let env: NodeJS.ProcessEnv;
const closers: (() => Promise<unknown>)[] = [];

before(async () => {
  // With no address given, autossl first looks at the default one: a server there would take these runs.
  if (await canConnect('127.0.0.1', 7233)) throw new Error('something listens on 127.0.0.1:7233; these tests need the default Temporal address free');
  root = await makeTempDir('autossl-cron-');
  env = { AUTOSSL_TEMPORAL_CLI: await temporalBinary('cli'), TEMPORAL_ADDRESS: undefined, HOME: root };
});

after(async () => {
  for (const close of closers.reverse()) await close();
  await fs.rm(root, { recursive: true, force: true });
});

interface Site {
  dir: string;
  file: string;
  name: string;
  dataDir: string;
  webs: string[];
  storage: string;
}

/** A blueprint of `name` under its own folder: local servers, local storage, and the CA section given. */
async function site(name: string, ca: { key: string; section: string; servers?: string[] }): Promise<Site> {
  const dir = path.join(root, name);
  const webs = (ca.servers ?? ['']).map((_, i) => path.join(dir, `web-${i + 1}`));
  const servers = webs.map((web, i) => `  - { type: local, parameters: { path: ${web}${ca.servers?.[i] ?? ''} } }`).join('\n');
  const file = path.join(dir, `${name}.yaml`);
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(
    file,
    `name: ${name}
servers:
${servers}
certificate: { type: DV, certificate_authority: ${ca.key}, common_name: ${name}, private_key_type: ECDSA }
certificate_authorities:
${ca.section}
storage: { type: local, parameters: { path: ${dir}/storage } }
`,
  );
  return { dir, file, name, dataDir: path.join(dir, 'data'), webs, storage: path.join(dir, 'storage') };
}

const localCa = (dir: string) => `  - name: Local test CA
    key: Local
    type: local-ca
    storage: { type: local, parameters: { path: ${dir}/ca } }
    parameters: { ca_private_key: ca, ca_certificate: ca, create_if_missing: true }`;

async function localSite(name: string): Promise<Site> {
  return site(name, { key: 'Local', section: localCa(path.join(root, name)) });
}

/** autossl on the site's blueprint and data dir, with no Temporal address: the way cron runs it. */
function autossl(s: Site, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return runCli(['--blueprint', s.file, '--data-dir', s.dataDir, ...args], { cwd: s.dir, env, ...opts });
}

const shown = (r: CliResult) => `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;

async function served(web: string, name: string): Promise<{ serial: string; key: string; crt: string }> {
  const crt = await fs.readFile(path.join(web, `${name}.crt`), 'utf8');
  return { serial: parseCertificate(crt).serial, key: await fs.readFile(path.join(web, `${name}.key`), 'utf8'), crt };
}

/** After a run: the lock is gone with it (its server stopped first), so the next run starts at once. */
async function assertReleased(s: Site): Promise<void> {
  assert.equal(await readLockOwner(s.dataDir), null, 'the data dir lock is released');
}

describe('cron-style runs on the embedded Temporal server', () => {
  it('renews with nothing running, then again; history and status read what both runs did', async () => {
    const s = await localSite('twice.cron.test');
    const first = await autossl(s, ['renew', '--yes']);
    assert.equal(first.code, 0, shown(first));
    assert.match(
      first.stdout,
      /^twice\.cron\.test: ok - renewed \(([0-9A-F]+), valid until .*\); deployed to 1 server\(s\) \[tracking record cert:twice\.cron\.test\]$/m,
    );
    const serial = (await served(s.webs[0], s.name)).serial;
    assert.ok(first.stdout.includes(serial), first.stdout);
    await assertReleased(s);

    const second = await autossl(s, ['renew', '--yes']);
    assert.equal(second.code, 0, shown(second));
    assert.match(second.stdout, /^twice\.cron\.test: ok - not renewed; deployed to 0 server\(s\)/m);

    const history = await autossl(s, ['history']);
    assert.equal(history.code, 0, shown(history));
    assert.match(history.stdout, new RegExp(`cycle 1 closed: ok - renewed \\(${serial}, valid until [^)]*\\); deployed to local:${s.webs[0]}`));
    assert.match(history.stdout, /cycle 2 closed: ok - not renewed; nothing deployed/);
    assert.equal(history.stdout.match(/cycle requested/g)?.length, 2, history.stdout);

    const status = await autossl(s, ['status']);
    assert.equal(status.code, 0, shown(status));
    assert.match(status.stdout, /^twice\.cron\.test +Ready +\S+ +1\/1 /m);

    // A server that lost its files gets them back from a one-shot deploy.
    await fs.rm(s.webs[0], { recursive: true });
    const deployed = await autossl(s, ['deploy']);
    assert.equal(deployed.code, 0, shown(deployed));
    assert.equal((await served(s.webs[0], s.name)).serial, serial);
    await assertReleased(s);
  });

  it('asks "Continue ? (y/n)" only when something is to be done, and reads the answer from a pipe', async () => {
    const s = await localSite('prompt.cron.test');
    const noAnswer = await autossl(s, ['renew']);
    assert.equal(noAnswer.code, 2, shown(noAnswer));
    assert.match(noAnswer.stderr, /prompt\.cron\.test: renewal needed: no stored certificate\. Continue \? \(y\/n\)/);
    assert.match(noAnswer.stderr, /no answer to "Continue \? \(y\/n\)" \(end of input\): nothing requested; .*pass --yes/);
    // Refused before anything started: not even a database.
    await assert.rejects(fs.access(path.join(s.dataDir, 'temporal.sqlite')));
    // Nothing would carry out a request left with a server that stops with this run.
    const noWait = await autossl(s, ['renew', '--yes', '--no-wait']);
    assert.equal(noWait.code, 2, shown(noWait));
    assert.match(noWait.stderr, /--no-wait needs a Temporal server that keeps running/);
    await assert.rejects(fs.access(path.join(s.dataDir, 'temporal.sqlite')));

    const declined = await autossl(s, ['renew'], { input: 'n\n' });
    assert.equal(declined.code, 1, shown(declined));
    assert.match(declined.stdout, /^prompt\.cron\.test: skipped, not confirmed$/m);
    await assert.rejects(fs.access(path.join(s.storage, `${s.name}.crt`)), 'nothing renewed when declined');

    const confirmed = await autossl(s, ['renew'], { input: 'y\n' });
    assert.equal(confirmed.code, 0, shown(confirmed));
    assert.match(confirmed.stderr, /Continue \? \(y\/n\) y$/m);
    assert.match(confirmed.stdout, /^prompt\.cron\.test: ok - renewed/m);

    // Nothing due: no question, and the cycle still runs (the end of input is not needed).
    const nothing = await autossl(s, ['renew']);
    assert.equal(nothing.code, 0, shown(nothing));
    assert.doesNotMatch(nothing.stderr, /Continue \?/);
    assert.match(nothing.stderr, /prompt\.cron\.test: certificate and all servers up to date/);
    assert.match(nothing.stdout, /^prompt\.cron\.test: ok - not renewed/m);
  });

  it('lets two runs at once on one data dir take turns, and the database stays whole', async () => {
    const s = await localSite('concurrent.cron.test');
    const args = ['--blueprint', s.file, '--data-dir', s.dataDir, 'renew', '--force'];
    const first = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let firstOut = '';
    first.stdout.on('data', (d) => (firstOut += d));
    first.stderr.on('data', (d) => (firstOut += d));
    const firstExit = once(first, 'exit');
    closers.push(async () => first.exitCode === null && first.kill('SIGKILL'));
    // The second starts while the first holds the data dir.
    await until('the first run to hold the data dir', async () => (await readLockOwner(s.dataDir))?.pid === first.pid, 30_000);
    const second = await runCli(args, { cwd: REPO, env });
    const [firstCode] = await firstExit;
    assert.equal(firstCode, 0, firstOut);
    assert.equal(second.code, 0, shown(second));
    assert.match(second.stderr, new RegExp(`waiting for pid ${first.pid} \\(autossl renew, since [^)]+\\) to finish with data dir ${s.dataDir}`));
    assert.match(firstOut, /concurrent\.cron\.test: ok - renewed/);
    assert.match(second.stdout, /concurrent\.cron\.test: ok - renewed/);

    // A third run reads both cycles: two renewals, the second one's certificate deployed.
    const history = await autossl(s, ['history', '--json']);
    assert.equal(history.code, 0, shown(history));
    const closed = (JSON.parse(history.stdout) as { entries: { text: string }[] }).entries.map((e) => e.text).filter((t) => / closed: /.test(t));
    assert.deepEqual(
      closed.map((t) => t.replace(/ \(.*/, '')),
      ['cycle 1 closed: ok - renewed', 'cycle 2 closed: ok - renewed'],
    );
    assert.ok(closed[1].includes((await served(s.webs[0], s.name)).serial), closed[1]);
    await assertReleased(s);
  });

  it('completes the renewal of a run killed (SIGKILL) while its ACME order was pending, in the next run', async () => {
    const name = 'killed.cron.test';
    const acmeDirs = [path.join(root, name, 'acme-1'), path.join(root, name, 'acme-2')];
    await Promise.all(acmeDirs.map((d) => fs.mkdir(d, { recursive: true })));
    const pebble = await startPebble();
    closers.push(() => pebble.stop());
    // Pebble's validation requests hang until released: the order stays pending while the run is killed.
    const web = await serveAcmeDirs(pebble.httpPort, acmeDirs, { hold: true });
    closers.push(() => web.close());
    const s = await site(name, {
      key: 'Pebble',
      servers: acmeDirs.map((d) => `, acme_dir: ${d}`),
      section: `  - name: Pebble
    key: Pebble
    type: acme
    acme_api: { production: '${pebble.directoryUrl}' }
    storage: { type: local, name: account, parameters: { path: ${root}/${name}/ca } }
    parameters: { ca_bundle: ${pebble.caBundlePath} }`,
    });

    const run = spawn(process.execPath, [BIN, '--blueprint', s.file, '--data-dir', s.dataDir, 'renew', '--yes'], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let runOut = '';
    run.stdout.on('data', (d) => (runOut += d));
    run.stderr.on('data', (d) => (runOut += d));
    const exited = once(run, 'exit');
    closers.push(async () => run.exitCode === null && run.kill('SIGKILL'));
    await until('Pebble to ask for the challenge', () => web.held() > 0, 60_000).catch((err: Error) => {
      throw new Error(`${err.message}\n${runOut}`);
    });
    const pendingKey = await fs.readFile(path.join(s.storage, `${name}.pending.key`), 'utf8');
    run.kill('SIGKILL');
    assert.deepEqual(await exited, [null, 'SIGKILL']);
    assert.equal((await readLockOwner(s.dataDir))?.pid, run.pid, 'the killed run left its lock');
    web.release();

    // The heartbeat of the killed run's issuance times out (20 s), and this run's worker retries it.
    const next = await autossl(s, ['renew', '--yes'], { timeoutMs: 180_000 });
    assert.equal(next.code, 0, `${shown(next)}\n${pebble.log()}`);
    assert.match(next.stderr, new RegExp(`pid ${run.pid} \\(autossl renew, since [^)]+\\) ended without releasing it; taken over`));
    assert.match(
      next.stdout,
      /^killed\.cron\.test: cycle 1 \(under way before this request\): ok - renewed \([0-9A-F]+, valid until [^)]+\); deployed to 2 server\(s\)$/m,
    );
    assert.match(next.stdout, /^killed\.cron\.test: ok - not renewed; deployed to 0 server\(s\)/m);

    const stored = await fs.readFile(path.join(s.storage, `${name}.crt`), 'utf8');
    assert.equal(await fs.readFile(path.join(s.storage, `${name}.key`), 'utf8'), pendingKey, 'the key made before the kill is the one in use');
    assert.ok(keyMatchesCertificate(pendingKey, stored));
    for (const w of s.webs) {
      const deployed = await served(w, name);
      assert.equal(deployed.serial, parseCertificate(stored).serial, w);
      assert.equal(deployed.key, pendingKey, w);
    }
    assert.deepEqual(
      (await fs.readdir(s.storage)).filter((f) => f.includes('.pending')),
      [],
      'no pending key or CSR left',
    );
    for (const d of acmeDirs) assert.deepEqual(await fs.readdir(d), [], `no challenge file left in ${d}`);
    await assertReleased(s);
  });

  it("uses the data dir's autossl server while it runs, refuses a second one, and reads its history after", async () => {
    const s = await localSite('served.cron.test');
    const [port, uiPort] = [await freePort(), await freePort()];
    const server = spawn(
      process.execPath,
      [BIN, '--blueprint', s.file, '--data-dir', s.dataDir, 'server', '--port', String(port), '--ui-port', String(uiPort)],
      {
        cwd: REPO,
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let serverOut = '';
    server.stdout.on('data', (d) => (serverOut += d));
    server.stderr.on('data', (d) => (serverOut += d));
    const exited = once(server, 'exit');
    closers.push(async () => server.exitCode === null && server.kill('SIGKILL'));
    await until('autossl server to be ready', () => serverOut.includes('autossl server ready'), 60_000);

    const renewed = await autossl(s, ['renew', '--yes', '--force']);
    assert.equal(renewed.code, 0, shown(renewed));
    assert.match(renewed.stdout, /^served\.cron\.test: ok - renewed/m);
    assert.doesNotMatch(renewed.stderr, /waiting for/);
    assert.equal((await readLockOwner(s.dataDir))?.pid, server.pid, 'the server still holds the data dir');

    const second = await autossl(s, ['server', '--port', String(await freePort())]);
    assert.equal(second.code, 2, shown(second));
    assert.match(second.stderr, new RegExp(`data dir ${s.dataDir} is in use by 'autossl server', pid ${server.pid} .*; one server per data dir`));

    server.kill('SIGINT');
    assert.equal((await exited)[0], 0, serverOut);
    await assertReleased(s);
    const history = await autossl(s, ['history']);
    assert.equal(history.code, 0, shown(history));
    assert.match(history.stdout, /cycle 1 closed: ok - renewed/);
    assert.match(history.stdout, /cycle 2 closed: ok - renewed/);
  });

  it("delivers a manual CA's certificate with a one-shot submit, which stays until it is deployed", async () => {
    const s = await site('manual.cron.test', { key: 'Vendor', section: '  - { name: Commercial vendor, key: Vendor }' });
    const awaiting = await autossl(s, ['renew', '--yes']);
    assert.equal(awaiting.code, 1, shown(awaiting));
    assert.match(awaiting.stdout, /^manual\.cron\.test: awaiting certificate/m);
    const csr = /-----BEGIN CERTIFICATE REQUEST-----[\s\S]+?-----END CERTIFICATE REQUEST-----\n/.exec(awaiting.stdout)?.[0];
    assert.ok(csr, awaiting.stdout);

    const vendor = await makeCa({ commonName: 'Commercial vendor CA' });
    const issued = await signCertificate({ csrPem: csr, caKeyPem: vendor.keyPem, caCertPem: vendor.certPem, validityDays: 90 });
    const certFile = path.join(s.dir, 'issued.pem');
    await fs.writeFile(certFile, issued + vendor.certPem);
    const submitted = await autossl(s, ['submit', '--certificate', certFile]);
    assert.equal(submitted.code, 0, shown(submitted));
    assert.match(submitted.stdout, /^cert:manual\.cron\.test: accepted certificate [0-9A-F]+, valid until .*; deploying$/m);
    assert.match(submitted.stdout, /^manual\.cron\.test: ok - renewed .*deployed to 1 server\(s\)/m);
    assert.equal((await served(s.webs[0], s.name)).serial, parseCertificate(issued).serial, 'deployed before the run ended');

    const status = await autossl(s, ['status', '--json']);
    assert.equal(status.code, 0, shown(status));
    assert.equal((JSON.parse(status.stdout) as { state: string }[])[0].state, 'Ready');
  });
});
