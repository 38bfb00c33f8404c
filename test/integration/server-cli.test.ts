// The README's main command, as a user runs it: `autossl server` over the bundled examples, then the client
// actions against it, then Ctrl-C.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/worker/dev-server';
import { parseCertificate } from '../../src/x509';
import { temporalBinary } from '../helpers/temporal';

const ROOT = path.resolve(__dirname, '../../..');
const CLI = path.join(ROOT, 'bin/autossl.js');
const execFileAsync = promisify(execFile);

async function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('autossl server over the bundled examples', () => {
  let dir: string;
  let server: ChildProcess;
  let output = '';
  let address: string;
  let uiPort: number;
  const examples = ['--config', 'examples/config.yaml', '--blueprint', 'examples/blueprints'];

  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-server-'));
    const port = await freePort();
    uiPort = await freePort();
    address = `127.0.0.1:${port}`;
    server = spawn(process.execPath, [CLI, ...examples, '--data-dir', dir, 'server', '--port', String(port), '--ui-port', String(uiPort)], {
      cwd: ROOT,
      env: { ...process.env, AUTOSSL_TEMPORAL_CLI: await temporalBinary('cli') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    server.stdout!.on('data', (d) => (output += d));
    server.stderr!.on('data', (d) => (output += d));
    const deadline = Date.now() + 60_000;
    while (!output.includes('autossl server ready')) {
      if (server.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  after(async () => {
    if (server && server.exitCode === null) server.kill('SIGKILL');
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('issues and deploys the example certificates, and status shows them Ready', async () => {
    let statuses: { name: string; state: string }[] = [];
    for (let i = 0; i < 100; i++) {
      const { stdout } = await cli(['status', '--json', '--address', address]);
      statuses = JSON.parse(stdout);
      if (statuses.length === 2 && statuses.every((s) => s.state === 'Ready')) break;
      await new Promise((r) => setTimeout(r, 300));
    }
    assert.deepEqual(
      statuses.map((s) => [s.name, s.state]),
      [
        ['api.example.test', 'Ready'],
        ['www.example.test', 'Ready'],
      ],
    );
    const table = await cli(['status', '--address', address]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, /www\.example\.test\s+Ready/);
    const served = await fs.readFile(path.join(dir, 'example/servers/web-1/www.example.test.crt'), 'utf8');
    assert.deepEqual(parseCertificate(served).domains.sort(), ['example.test', 'www.example.test']);
  });

  it('answers check (no Temporal needed) with exit 0 once everything is deployed', async () => {
    const { code, stdout } = await cli([...examples, '--data-dir', dir, 'check', '--json']);
    assert.equal(code, 0, stdout);
    assert.equal(JSON.parse(stdout).summary.needAction, 0);
  });

  it('renews on request with --force --no-wait and then with waiting, printing the tracking record', async () => {
    const before = parseCertificate(await fs.readFile(path.join(dir, 'example/storage/www.example.test.crt'), 'utf8')).serial;
    const blueprint = ['--config', 'examples/config.yaml', '--blueprint', 'examples/blueprints/www.example.test.yaml', '--data-dir', dir];
    const renewed = await cli([...blueprint, 'renew', '--force', '--address', address]);
    assert.equal(renewed.code, 0, renewed.stdout + renewed.stderr);
    assert.match(renewed.stdout, /www\.example\.test: ok - renewed .*tracking record cert:www\.example\.test/);
    const after = parseCertificate(await fs.readFile(path.join(dir, 'example/servers/web-2/www.example.test.crt'), 'utf8')).serial;
    assert.notEqual(after, before);
  });

  it('serves the Web UI', async () => {
    const response = await fetch(`http://127.0.0.1:${uiPort}/`);
    assert.equal(response.status, 200);
  });

  it('stops cleanly on Ctrl-C (SIGINT) with exit 0', async () => {
    const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGINT');
    assert.equal(await exited, 0, output);
  });

  it('says clearly that no Temporal server answers, with exit 2', async () => {
    const { code, stderr } = await cli([...examples, '--data-dir', dir, 'status', '--address', address]);
    assert.equal(code, 2);
    assert.match(stderr, new RegExp(`no Temporal server answers at ${address}`));
  });
});
