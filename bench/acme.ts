// N certificates (default 50) issued by Pebble over HTTP-01 and written to a local server, by autossl and by the
// tools it replaces: the certbot and lego loops cron runs, and raw acme-client (one Node process, one account,
// sequential and `--concurrency` at a time) as the floor. Prints the machine and a markdown table.
//
//   npm run build && node dist/bench/acme.js [--count 50] [--concurrency 10] [--runs 3] [--skip certbot,lego] [--profile]
//
// One Pebble (PEBBLE_VA_NOSLEEP=1, no authorization reuse) with pebble-challtestsrv resolving every name to
// 127.0.0.1, and one HTTP server answering its HTTP-01 requests from one webroot, serve every tool. Every tool
// registers its account on its first run (not measured apart) and uses ECDSA P-256 keys. Each run uses fresh
// domain names, so every certificate is a new order with new authorizations. autossl is the product as deployed:
// the embedded dev server with its default settings and an `autossl worker` process; its wall time runs from
// the first start request until every lifecycle reports Ready (issued, stored and deployed). Starting the
// servers and the worker is not measured.
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadBlueprints } from '../src/catalog';
import { POLLING } from '../src/plugins/ca/acme';
import { queryStatus, requestCycle, type Session } from '../src/client/temporal';
import { startDevServer } from '../src/worker/dev-server';
import { resolveTemporalBinary } from '../src/worker/temporal-binary';
import { workflowIdFor } from '../src/workflows/definitions';
import { serveAcmeDirs, startPebble, type TestPebble } from '../test/helpers/pebble';
import { fmt, intArg, markdownTable, median, startWorkerProcess } from './measure';

// Compiled to dist/bench: the repository is two levels up.
const REPO = path.resolve(__dirname, '..', '..');
const BIN = path.join(REPO, 'bin', 'autossl.js');
const TASK_QUEUE = 'autossl-bench-acme';
const EMAIL = 'admin@example.test';

const log = (line: string) => process.stderr.write(`${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Env {
  root: string;
  pebble: TestPebble;
  /** Served at http://<any name>:<pebble.httpPort>/; challenges go to its .well-known/acme-challenge. */
  webroot: string;
  challengeDir: string;
  /** The "local server" every tool deploys to (autossl, raw acme-client) or keeps its files in (certbot, lego). */
  deployDir: string;
}

const names = (tool: string, run: number, count: number) =>
  Array.from({ length: count }, (_, i) => `${tool}${run}-${String(i).padStart(3, '0')}.bench.test`);

/** A command run to its end; resolves with its stdout, rejects with its output when it fails. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => ((output += d), (stdout += d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(stdout) : reject(new Error(`${command} ${args.join(' ')} exited with ${code}\n${output.slice(-4000)}`)),
    );
  });
}

function version(command: string, args: string[]): string | null {
  const result = spawnSync(command, args, { encoding: 'utf8' });
  if (result.error || result.status !== 0) return null;
  return `${result.stdout}${result.stderr}`.trim().split('\n')[0];
}

/** `certbot certonly` per domain, one after the other, as a cron job loops over its sites. */
async function certbotLoop(env: Env, domains: string[]): Promise<void> {
  const dir = path.join(env.root, 'certbot');
  for (const domain of domains) {
    await run(
      'certbot',
      [
        'certonly',
        '--webroot',
        '-w',
        env.webroot,
        '-d',
        domain,
        '--server',
        env.pebble.directoryUrl,
        '--config-dir',
        path.join(dir, 'config'),
        '--work-dir',
        path.join(dir, 'work'),
        '--logs-dir',
        path.join(dir, 'logs'),
        '--agree-tos',
        '--register-unsafely-without-email',
        '--non-interactive',
        '--key-type',
        'ecdsa',
        '--elliptic-curve',
        'secp256r1',
      ],
      { REQUESTS_CA_BUNDLE: env.pebble.caBundlePath },
    );
  }
}

/** `lego run` per domain, one after the other. */
async function legoLoop(env: Env, domains: string[]): Promise<void> {
  for (const domain of domains) {
    await run(
      'lego',
      [
        '--server',
        env.pebble.directoryUrl,
        '--accept-tos',
        '--email',
        EMAIL,
        '--path',
        path.join(env.root, 'lego'),
        '--http',
        '--http.webroot',
        env.webroot,
        '--key-type',
        'ec256',
        '--domains',
        domain,
        'run',
      ],
      { LEGO_CA_CERTIFICATES: env.pebble.caBundlePath },
    );
  }
}

/**
 * Raw acme-client in a Node process of its own (bench/acme-raw.ts), timed from spawn to exit; `polling` absent:
 * acme-client's defaults. Resolves with each certificate's latency, ms.
 */
async function rawClient(env: Env, domains: string[], concurrency: number, polling?: typeof POLLING): Promise<number[]> {
  const listFile = path.join(env.root, `raw-${domains[0]}.json`);
  const job = {
    domains,
    directoryUrl: env.pebble.directoryUrl,
    caBundle: env.pebble.caBundlePath,
    challengeDir: env.challengeDir,
    deployDir: env.deployDir,
    polling,
  };
  await fs.writeFile(listFile, JSON.stringify(job));
  return JSON.parse(await run(process.execPath, [path.join(__dirname, 'acme-raw.js'), listFile, String(concurrency)], {})) as number[];
}

/** CPU seconds used so far by this process's descendants, by command name (the profile's "who burns the cores"). */
function descendantCpu(): Map<string, number> {
  const procs = new Map<number, { ppid: number; comm: string; cpu: number }>();
  const tick = 100; // USER_HZ on Linux
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      procs.set(Number(entry), { ppid: Number(f[1]), comm, cpu: (Number(f[11]) + Number(f[12])) / tick });
    } catch {
      // Gone while /proc was read.
    }
  }
  const mine = (pid: number): boolean => pid === process.pid || (procs.has(pid) && pid > 1 && mine(procs.get(pid)!.ppid));
  const out = new Map<string, number>([['bench (this process)', process.cpuUsage().user / 1e6 + process.cpuUsage().system / 1e6]]);
  for (const [pid, p] of procs) if (pid !== process.pid && mine(pid)) out.set(p.comm, (out.get(p.comm) ?? 0) + p.cpu);
  return out;
}

interface Autossl {
  /** Seconds from the first start request until every lifecycle is Ready. */
  issue(domains: string[]): Promise<number>;
  /** Where the last batch's time went, from the workflow histories: one line per step. */
  profile(domains: string[]): Promise<string[]>;
  stop(): Promise<void>;
}

async function startAutossl(env: Env): Promise<Autossl> {
  const dataDir = path.join(env.root, 'autossl-data');
  const cli = await resolveTemporalBinary('cli', { dataDir: path.join(REPO, '.autossl'), log });
  if (!cli) throw new Error('no temporal CLI: set AUTOSSL_TEMPORAL_CLI or put it on PATH');
  const server = await startDevServer({ dataDir, ui: false, cli: cli.path });
  const worker = await startWorkerProcess(BIN, TASK_QUEUE, server.address, dataDir).catch(async (err) => {
    await server.stop();
    throw err;
  });
  const workerExit = new Promise((r) => worker.once('exit', r));
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const session: Session = { client, address: server.address, namespace: server.namespace, taskQueue: TASK_QUEUE, close: async () => {} };
  const countReady = async () =>
    (await client.workflow.count(`WorkflowType = 'certificateLifecycle' AND ExecutionStatus = 'Running' AND AutosslState = 'Ready'`)).count;
  const q = (p: string) => JSON.stringify(p);
  const blueprintDir = path.join(env.root, 'blueprints');
  await fs.mkdir(blueprintDir, { recursive: true });

  return {
    async issue(domains) {
      // Written and loaded before the clock starts: generating the environment is not measured.
      const batch = path.join(blueprintDir, domains[0]);
      await fs.mkdir(batch);
      for (const name of domains) {
        await fs.writeFile(
          path.join(batch, `${name}.yaml`),
          [
            `name: ${name}`,
            `servers: [{ type: local, parameters: { path: ${q(env.deployDir)}, acme_dir: ${q(env.challengeDir)} } }]`,
            `certificate: { type: DV, common_name: ${name}, certificate_authority: Pebble, private_key_type: ECDSA, private_key_size: 256 }`,
            `certificate_authorities:`,
            `  - { key: Pebble, type: acme, acme_api: { production: ${q(env.pebble.directoryUrl)} }, contact_email: ${EMAIL},`,
            `      storage: { type: local, name: account, parameters: { path: ${q(path.join(env.root, 'autossl-ca'))} } },`,
            `      parameters: { ca_bundle: ${q(env.pebble.caBundlePath)} } }`,
            `storage: { type: local, parameters: { path: ${q(path.join(env.root, 'autossl-storage'))} } }`,
            '',
          ].join('\n'),
        );
      }
      const blueprints = await loadBlueprints({ blueprint: batch });
      const before = await countReady();
      const started = process.hrtime.bigint();
      await Promise.all(blueprints.map((b) => requestCycle(session, b, {})));
      const ids = blueprints.map((b) => workflowIdFor(b.name));
      // Visibility is cheap to ask; a status query per lifecycle would add workflow tasks to what is measured.
      // Earlier runs' lifecycles sleep in Ready: they are counted before and stay.
      const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
      const limit = 120 + domains.length * 5;
      while ((await countReady()) < before + domains.length) {
        if (elapsed() > limit) throw new Error(`autossl: not every lifecycle Ready after ${fmt(elapsed())} s`);
        await sleep(50);
      }
      const wall = elapsed();
      // Checked after the clock stops: each cycle renewed and deployed.
      for (const id of ids) {
        const status = await queryStatus(session, id);
        if (status?.state !== 'Ready' || !status.lastCycle?.renewed || status.lastCycle.deployed.length !== 1) {
          throw new Error(`autossl: ${id} is ${status?.state}: ${status?.reason}`);
        }
      }
      return wall;
    },
    async profile(domains) {
      const waits = new Map<string, number[]>();
      const add = (key: string, ms: number) => waits.set(key, [...(waits.get(key) ?? []), ms]);
      const ms = (t: unknown) =>
        Number((t as { seconds?: { toNumber(): number } | number; nanos?: number }).seconds?.valueOf() ?? 0) * 1000 +
        ((t as { nanos?: number }).nanos ?? 0) / 1e6;
      for (const name of domains) {
        // Every run of the lifecycle (the first cycle ends in continue-as-new), oldest first.
        const runs = [];
        for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowIdFor(name)}'` })) runs.push(w);
        runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
        let t0 = 0;
        for (const w of runs) {
          const history = await client.workflow.getHandle(w.workflowId, w.runId).fetchHistory();
          const scheduled = new Map<string, { at: number; type: string }>();
          const started = new Map<string, number>();
          let wftScheduled = 0;
          for (const e of history.events ?? []) {
            const at = ms(e.eventTime);
            if (!t0) t0 = at;
            const id = String(e.eventId);
            if (e.workflowTaskScheduledEventAttributes) wftScheduled = at;
            if (e.workflowTaskStartedEventAttributes) add('workflow task: queue wait', at - wftScheduled);
            if (e.workflowTaskCompletedEventAttributes) add('workflow task: run', at - wftScheduled);
            const a = e.activityTaskScheduledEventAttributes;
            if (a) scheduled.set(id, { at, type: a.activityType?.name ?? '?' });
            const st = e.activityTaskStartedEventAttributes;
            if (st) {
              const s = scheduled.get(String(st.scheduledEventId))!;
              add(`${s.type}: queue wait`, at - s.at);
              started.set(String(st.scheduledEventId), at);
              if ((st.attempt ?? 1) > 1) add(`${s.type}: retried (attempt ${st.attempt})`, 0);
            }
            const c = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes;
            if (c) {
              const s = scheduled.get(String(c.scheduledEventId))!;
              add(`${s.type}: run`, at - (started.get(String(c.scheduledEventId)) ?? s.at));
              if (e.activityTaskFailedEventAttributes) add(`${s.type}: FAILED`, 0);
            }
          }
          add('first event to end of run', (w.closeTime?.getTime() ?? Date.now()) - t0);
        }
      }
      const q = (v: number[], f: number) => [...v].sort((a, b) => a - b)[Math.min(v.length - 1, Math.floor(v.length * f))];
      return [...waits].map(
        ([k, v]) =>
          `${k}: n=${v.length} median ${fmt(q(v, 0.5))} ms, p90 ${fmt(q(v, 0.9))} ms, max ${fmt(Math.max(...v))} ms, sum ${fmt(v.reduce((x, y) => x + y, 0))} ms`,
      );
    },
    async stop() {
      await connection.close();
      worker.kill('SIGTERM');
      await workerExit;
      await server.stop();
    },
  };
}

interface Row {
  tool: string;
  key: string;
  walls: number[];
  /** Raw acme-client: the median latency of one certificate, per run. */
  latencies: number[];
  note?: string;
}

async function main(argv: string[]): Promise<void> {
  const count = intArg(argv, 'count', 50);
  const concurrency = intArg(argv, 'concurrency', 10);
  const runs = intArg(argv, 'runs', 1);
  const skipAt = argv.indexOf('--skip');
  const skip = new Set(skipAt < 0 ? [] : argv[skipAt + 1].split(','));
  const has = { certbot: version('certbot', ['--version']), lego: version('lego', ['--version']) };

  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-bench-acme-'));
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const pebble = await startPebble();
    cleanups.push(() => pebble.stop());
    const webroot = path.join(root, 'www');
    const env: Env = {
      root,
      pebble,
      webroot,
      challengeDir: path.join(webroot, '.well-known', 'acme-challenge'),
      deployDir: path.join(root, 'deployed'),
    };
    await fs.mkdir(env.challengeDir, { recursive: true });
    await fs.mkdir(env.deployDir, { recursive: true });
    const web = await serveAcmeDirs(pebble.httpPort, [env.challengeDir]);
    cleanups.push(() => web.close());
    const autossl = await startAutossl(env);
    cleanups.push(() => autossl.stop());

    const polled = `backoffMin ${POLLING.backoffMin} ms`;
    const rows: Row[] = [
      { tool: 'autossl (dev server + `autossl worker`, all started at once)', key: 'autossl', walls: [], latencies: [] },
      {
        tool: `certbot ${has.certbot?.replace(/^certbot /, '') ?? ''} \`certonly\` loop`,
        key: 'certbot',
        walls: [],
        latencies: [],
        note: has.certbot ? undefined : 'certbot not found on PATH: skipped',
      },
      {
        tool: `lego ${has.lego?.replace(/^lego version /, '').split(' ')[0] ?? ''} \`run\` loop`,
        key: 'lego',
        walls: [],
        latencies: [],
        note: has.lego ? undefined : 'lego not found on PATH: skipped',
      },
      { tool: 'raw acme-client, its default polling (backoffMin 5 s), sequential', key: 'rawseq', walls: [], latencies: [] },
      { tool: `raw acme-client, its default polling, ${concurrency} at once`, key: 'rawcon', walls: [], latencies: [] },
      { tool: `raw acme-client, autossl's polling (${polled}), sequential`, key: 'rawseq-polled', walls: [], latencies: [] },
      { tool: `raw acme-client, autossl's polling, ${concurrency} at once`, key: 'rawcon-polled', walls: [], latencies: [] },
      { tool: `raw acme-client, autossl's polling, all ${count} at once`, key: 'rawall-polled', walls: [], latencies: [] },
    ];
    // Each resolves with its own wall time when it measures one (autossl: from the first start request), and with
    // each certificate's latency when it knows them (raw acme-client).
    const issuers: Record<string, (domains: string[]) => Promise<{ wall?: number; latencies?: number[] } | void>> = {
      autossl: async (d) => ({ wall: await autossl.issue(d) }),
      certbot: (d) => certbotLoop(env, d),
      lego: (d) => legoLoop(env, d),
      rawseq: async (d) => ({ latencies: await rawClient(env, d, 1) }),
      rawcon: async (d) => ({ latencies: await rawClient(env, d, concurrency) }),
      'rawseq-polled': async (d) => ({ latencies: await rawClient(env, d, 1, POLLING) }),
      'rawcon-polled': async (d) => ({ latencies: await rawClient(env, d, concurrency, POLLING) }),
      'rawall-polled': async (d) => ({ latencies: await rawClient(env, d, count, POLLING) }),
    };
    for (const row of rows) if (row.note) log(row.note);
    for (let r = 0; r < runs; r++) {
      for (const row of rows) {
        if (row.note || skip.has(row.key)) continue;
        // Domain names: letters and digits only, fresh for every run.
        const domains = names(row.key.replace(/[^a-z]/g, ''), r, count);
        const cpuBefore = argv.includes('--profile') ? descendantCpu() : undefined;
        const started = process.hrtime.bigint();
        const result = await issuers[row.key](domains);
        const wall = result?.wall ?? Number(process.hrtime.bigint() - started) / 1e9;
        const latencies = result?.latencies;
        row.walls.push(wall);
        if (latencies) row.latencies.push(median(latencies));
        log(`run ${r + 1}/${runs}: ${row.key} ${fmt(wall, 2)} s${latencies ? `, median latency per certificate ${fmt(median(latencies))} ms` : ''}`);
        if (cpuBefore) {
          const cpu = [...descendantCpu()].map(([k, v]) => [k, v - (cpuBefore.get(k) ?? 0)] as const).filter(([, v]) => v > 0.05);
          log(`  CPU seconds: ${cpu.map(([k, v]) => `${k} ${fmt(v, 1)}`).join(', ')}`);
          if (row.key === 'autossl') for (const line of await autossl.profile(domains)) log(`  ${line}`);
        }
      }
    }

    const autosslWall = median(rows[0].walls);
    const cpu = os.cpus();
    process.stdout.write(
      `Machine: ${cpu.length} cores (${cpu[0]?.model.trim()}), ${fmt(os.totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ` +
        `Pebble (PEBBLE_VA_NOSLEEP=1) and HTTP-01 on loopback; ${count} certificates, median of ${runs} run${runs > 1 ? 's' : ''}\n\n`,
    );
    process.stdout.write(
      `${markdownTable(
        ['tool', 'wall time', 'per certificate', 'autossl / it'],
        rows.map((row) => {
          if (!row.walls.length) return [row.tool, row.note ?? 'skipped', '', ''];
          const wall = median(row.walls);
          const spread = row.walls.length > 1 ? ` (${fmt(Math.min(...row.walls), 1)}–${fmt(Math.max(...row.walls), 1)})` : '';
          return [row.tool, `${fmt(wall, 1)} s${spread}`, `${fmt(wall / count, 2)} s`, rows[0].walls.length ? `${fmt(autosslWall / wall, 2)}×` : ''];
        }),
      )}\n`,
    );
    const latencies = rows.filter((row) => row.latencies.length).map((row) => `${row.key} ${fmt(median(row.latencies))} ms`);
    if (latencies.length) process.stdout.write(`\nMedian time from order to deployed file, per certificate: ${latencies.join(', ')}\n`);
  } finally {
    for (const cleanup of cleanups.reverse()) await cleanup().catch((err: Error) => log(`cleanup: ${err.message}`));
    await fs.rm(root, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((err: Error) => {
  process.stderr.write(`bench/acme: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
