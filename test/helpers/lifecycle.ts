// A real dev server with an autossl worker on its own task queue: what every lifecycle integration test runs on.
import { createCredentialResolver } from '../../src/blueprint/credentials';
import type { Session } from '../../src/client/temporal';
import { bundleWorkflows, createWorker } from '../../src/worker/worker';
import { startTestDevServer, type TestDevServer } from './temporal';

export interface LifecycleHarness {
  temporal: TestDevServer;
  /** What the CLI's helpers (requestCycle, waitForCycle, queryStatus) take. */
  session: Session;
  /** Stops the worker, then the server. */
  stop(): Promise<void>;
}

/** `credentialEnv` is the environment the worker resolves credentials from (NAME_FIELD variables). */
export async function startLifecycleHarness(taskQueue: string, credentialEnv: Record<string, string | undefined> = {}): Promise<LifecycleHarness> {
  const temporal = await startTestDevServer();
  const worker = await createWorker({
    connection: temporal.nativeConnection,
    namespace: temporal.namespace,
    taskQueue,
    workflowBundle: await bundleWorkflows(),
    env: { staging: false, credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, env: credentialEnv }) },
  });
  const running = worker.run();
  return {
    temporal,
    session: { client: temporal.client, address: temporal.address, namespace: temporal.namespace, taskQueue, close: async () => {} },
    async stop() {
      worker.shutdown();
      await running;
      await temporal.stop();
    },
  };
}

/** Every string and every byte payload (decoded as UTF-8) in a workflow history, joined: to search for secrets. */
export function everyString(value: unknown): string {
  if (typeof value === 'string') return value;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  if (value && typeof value === 'object') return Object.values(value).map(everyString).join('\n');
  return '';
}
