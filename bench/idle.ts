// N idle certificate lifecycles (default 10,000) on one worker and the embedded dev server: how long starting them
// all takes, what the worker and the dev server hold in memory once they sleep, and whether a wake-up among them
// still fires on time. Prints a markdown table.
//
//   npm run build && node dist/bench/idle.js [--count 10000] [--probe-seconds 20] [--concurrency 32] [--keep]
//
// Activities are the real ones (local storage, local servers, LocalCa) run by a real `autossl worker` process.
// Every certificate is issued beforehand (one CA, one ECDSA pair shared by all blueprints: only the blueprint names
// differ), so each first cycle inspects storage and its server, finds everything up to date and sleeps until the
// next drift check a day later. One probe lifecycle, started once all others sleep, checks every few seconds: its
// wake-up is timed against the moment it was due.
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadBlueprints } from '../src/catalog';
import type { Blueprint } from '../src/blueprint/types';
import { mapLimit } from '../src/client/format';
import { queryStatus, requestCycle, waitForCycle, type Session } from '../src/client/temporal';
import { startDevServer } from '../src/worker/dev-server';
import { resolveTemporalBinary } from '../src/worker/temporal-binary';
import { workflowIdFor, type LifecycleSettings } from '../src/workflows/definitions';
import { createCsr, createSelfSignedCa, generatePrivateKey, signCertificate } from '../src/x509';
import { flagArg, fmt, intArg, markdownTable, procMemoryMiB, startWorkerProcess } from './measure';

// Compiled to dist/bench: the repository is two levels up.
const REPO = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO, 'bin', 'autossl.js');
const TASK_QUEUE = 'autossl-bench-idle';
const DOMAIN = 'idle.bench.test';
const DAY_MS = 86_400_000;
const IDLE: Partial<LifecycleSettings> = { checkIntervalMs: DAY_MS };
const silent = { out() {}, err() {} };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (fromMs: number) => (Date.now() - fromMs) / 1000;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** Blueprint files sharing one CA, storage folder and server folder; each certificate already stored and deployed. */
async function generate(root: string, names: string[]): Promise<Blueprint[]> {
  const caKeyPem = await generatePrivateKey({ type: 'ec', curve: 'P-256' });
  const caCertPem = await createSelfSignedCa({ keyPem: caKeyPem, commonName: 'bench idle CA', validityDays: 3650 });
  const keyPem = await generatePrivateKey({ type: 'ec', curve: 'P-256' });
  const csrPem = await createCsr({ keyPem, commonName: DOMAIN, domains: [DOMAIN] });
  const certPem = await signCertificate({ csrPem, caKeyPem, caCertPem, validityDays: 90 });
  const dirs = {
    ca: path.join(root, 'ca'),
    storage: path.join(root, 'storage'),
    web: path.join(root, 'web'),
    blueprints: path.join(root, 'blueprints'),
  };
  for (const dir of Object.values(dirs)) await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dirs.ca, 'ca.key'), caKeyPem, { mode: 0o600 });
  await fs.writeFile(path.join(dirs.ca, 'ca.crt'), caCertPem);
  const q = (p: string) => JSON.stringify(p);
  await mapLimit(names, 32, async (name) => {
    await fs.writeFile(path.join(dirs.storage, `${name}.key`), keyPem, { mode: 0o600 });
    await fs.writeFile(path.join(dirs.storage, `${name}.crt`), certPem + caCertPem);
    await fs.writeFile(path.join(dirs.web, `${name}.key`), keyPem, { mode: 0o600 });
    await fs.writeFile(path.join(dirs.web, `${name}.crt`), certPem);
    const yaml = [
      `name: ${name}`,
      `servers: [{ type: local, parameters: { path: ${q(dirs.web)} } }]`,
      `certificate: { type: DV, certificate_authority: Internal, common_name: ${DOMAIN}, private_key_type: ECDSA }`,
      'certificate_authorities:',
      '  - key: Internal',
      '    type: local-ca',
      `    storage: { type: local, parameters: { path: ${q(dirs.ca)} } }`,
      '    parameters: { ca_private_key: ca, ca_certificate: ca }',
      `storage: { type: local, parameters: { path: ${q(dirs.storage)} } }`,
      '',
    ].join('\n');
    await fs.writeFile(path.join(dirs.blueprints, `${name}.yaml`), yaml);
  });
  return loadBlueprints({ blueprint: dirs.blueprints });
}

/** The `temporal` process the dev server launcher spawned from this process. */
function devServerPid(exclude: number[]): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || exclude.includes(Number(entry))) continue;
    try {
      // Fields after the parenthesised command name: state, then ppid.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === process.pid && stat.includes('(temporal)')) return Number(entry);
    } catch {
      // The process ended while /proc was read.
    }
  }
  return undefined;
}

async function countReady(client: Client): Promise<number> {
  const query = `WorkflowType = 'certificateLifecycle' AND ExecutionStatus = 'Running' AND AutosslState = 'Ready'`;
  return (await client.workflow.count(query)).count;
}

/** Starts the probe once everything sleeps and times its next cycle against its announced wake-up. */
async function probeWakeUp(session: Session, probe: Blueprint, intervalMs: number): Promise<{ lateMs: number } | { missedAfterMs: number }> {
  const id = workflowIdFor(probe.name);
  const first = await waitForCycle(session, id, await requestCycle(session, probe, {}, { checkIntervalMs: intervalMs }), silent, 120_000);
  const due = Date.parse(first.status.nextWakeAt ?? '');
  const deadline = due + intervalMs + 60_000;
  while (Date.now() < deadline) {
    await sleep(250);
    const status = await queryWithRetries(session, id);
    if (status && status.cycles > first.status.cycles && status.lastCycle) return { lateMs: Date.parse(status.lastCycle.startedAt) - due };
  }
  return { missedAfterMs: Date.now() - due };
}

function mem(pid: number | undefined): string {
  const now = pid === undefined ? null : procMemoryMiB(pid, 'VmRSS');
  const peak = pid === undefined ? null : procMemoryMiB(pid, 'VmHWM');
  return now === null || peak === null ? 'n/a' : `${fmt(now)} MiB (peak ${fmt(peak)} MiB)`;
}

/**
 * A status query. A sleeping lifecycle evicted from the worker's cache is replayed to answer, which can time out
 * while the worker is still busy with thousands of first cycles: a few tries, each failure logged.
 */
async function queryWithRetries(session: Session, id: string, attempts = 5): Promise<Awaited<ReturnType<typeof queryStatus>>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await queryStatus(session, id);
    } catch (err) {
      const why = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ''}` : String(err);
      log(`query of ${id} failed (attempt ${attempt}): ${why}`);
      if (attempt >= attempts) throw err;
      await sleep(5000);
    }
  }
}

async function main(argv: string[]): Promise<void> {
  const count = intArg(argv, 'count', 10_000);
  const probeSeconds = intArg(argv, 'probe-seconds', 20);
  const concurrency = intArg(argv, 'concurrency', 32);
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-bench-idle-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const generatedAt = Date.now();
    const names = Array.from({ length: count + 1 }, (_, i) => (i === count ? 'idle-probe' : `idle-${String(i).padStart(5, '0')}`));
    const blueprints = await generate(root, names);
    const probe = blueprints.find((b) => b.name === 'idle-probe')!;
    const idle = blueprints.filter((b) => b !== probe);
    log(`generated ${count} blueprints in ${fmt(seconds(generatedAt), 1)} s under ${root}`);

    const dataDir = path.join(root, 'data');
    const cli = await resolveTemporalBinary('cli', { dataDir: path.join(REPO, '.autossl'), log });
    if (!cli) throw new Error('no temporal CLI: set AUTOSSL_TEMPORAL_CLI or put it on PATH');
    // Losing the SQLite file in a crash costs a benchmark nothing; waiting for every fsync would measure the disk.
    const server = await startDevServer({ dataDir, ui: false, cli: cli.path, sqlitePragmas: ['journal_mode=WAL', 'synchronous=OFF'] });
    cleanups.push(() => server.stop());
    const worker = await startWorkerProcess(BIN, TASK_QUEUE, server.address, dataDir);
    const workerExit = new Promise((r) => worker.once('exit', r));
    cleanups.push(async () => {
      worker.kill('SIGTERM');
      await workerExit;
    });
    const serverPid = devServerPid([worker.pid!]);
    const connection = await Connection.connect({ address: server.address });
    cleanups.push(() => connection.close());
    const client = new Client({ connection, namespace: server.namespace });
    const session: Session = { client, address: server.address, namespace: server.namespace, taskQueue: TASK_QUEUE, close: async () => {} };

    const startedAt = Date.now();
    await mapLimit(idle, concurrency, (b) => requestCycle(session, b, {}, IDLE));
    const accepted = seconds(startedAt);
    log(`${count} lifecycles accepted in ${fmt(accepted, 1)} s; waiting for every first cycle`);
    let ready = 0;
    const readyDeadline = Date.now() + Math.max(300_000, count * 100);
    while ((ready = await countReady(client)) < count && Date.now() < readyDeadline) await sleep(1000);
    const allReady = seconds(startedAt);
    if (ready < count) throw new Error(`only ${ready} of ${count} lifecycles reached Ready in ${fmt(allReady)} s`);
    log(`all ${count} Ready after ${fmt(allReady, 1)} s; worker RSS ${mem(worker.pid)}, dev server RSS ${mem(serverPid)}`);
    // Visibility says Ready as soon as a continued run starts, before the worker has run its first task and set
    // its timer; the last lifecycle started answering a query means the worker has caught up. Sleeping until the
    // drift check a day later is what "idle" means here; a sample proves it.
    for (const b of [idle[count - 1], idle[0], idle[Math.floor(count / 2)]]) {
      const wake = Date.parse((await queryWithRetries(session, workflowIdFor(b.name), 30))?.nextWakeAt ?? '');
      if (!(wake - Date.now() > DAY_MS / 2)) throw new Error(`${b.name} wakes at ${new Date(wake).toISOString()}, not a day later`);
    }
    const allIdle = seconds(startedAt);
    log(`all ${count} asleep after ${fmt(allIdle, 1)} s; probing a wake-up every ${probeSeconds} s`);
    const probed = await probeWakeUp(session, probe, probeSeconds * 1000);

    const wakeUp =
      'lateMs' in probed
        ? `fired ${fmt(probed.lateMs / 1000, 2)} s after it was due`
        : `did NOT fire (${fmt(probed.missedAfterMs / 1000)} s past due)`;
    process.stdout.write(
      `${markdownTable(
        ['benchmark', 'figure'],
        [
          ['idle lifecycles on one worker + dev server', `${count} (+1 probe)`],
          ['activities', 'real: local storage, local servers, LocalCa (certificates pre-issued, so each first cycle only inspects)'],
          [`start requests accepted (signalWithStart, ${concurrency} at a time)`, `${fmt(accepted, 1)} s (${fmt(count / accepted)}/s)`],
          ['every lifecycle Ready in visibility (first cycle done)', `${fmt(allReady, 1)} s (${fmt(count / allReady)}/s)`],
          ['worker caught up: the last one started answers a status query, asleep for a day', `${fmt(allIdle, 1)} s`],
          ['worker RSS once idle', mem(worker.pid)],
          ['dev server RSS once idle', mem(serverPid)],
          [`probe lifecycle, drift check every ${probeSeconds} s`, wakeUp],
        ],
      )}\n`,
    );
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: Error) => log(`cleanup: ${err.message}`));
    if (!flagArg(argv, 'keep')) await fs.rm(root, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`bench/idle: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
