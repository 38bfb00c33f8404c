// Every tracking implementation against the tracking contract. Adding a tracking plugin = one line below.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { openStorage, openTracking } from '../../src/catalog/open';
import { CONTRACT_DOMAIN, FIXTURE_PLUGINS, openBlueprint, readIfExists } from './harness';
import { trackingContract, type TrackingUnderTest } from './tracking';

const readText = async (file: string): Promise<string> => (await readIfExists(file)) ?? '';
const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');

/** The blueprint's tracking, writing to `<dir>/record/<file of the certificate>`; its storage holds the key. */
async function trackingOf(
  tracking: (dir: string) => Record<string, unknown>,
  fileOf: (certificate: string) => string,
  storedKey: string,
): Promise<TrackingUnderTest> {
  const opened = await openBlueprint((dir) => ({
    tracking: tracking(path.join(dir, 'record')),
    storage: { type: 'local', parameters: { path: path.join(dir, 'storage') } },
  }));
  const storage = (await openStorage(opened.blueprint, opened.env))!;
  await storage.put(CONTRACT_DOMAIN, 'key', storedKey);
  const plugin = await openTracking(opened.blueprint, opened.env);
  if (!plugin) throw new Error('the blueprint has a tracking section');
  const record = path.join(opened.dir, 'record');
  return {
    tracking: plugin,
    entries: async (certificate) => lines(await readText(path.join(record, fileOf(certificate)))),
    written: async () => {
      const files = await fs.readdir(record).catch(() => []);
      return (await Promise.all(files.map((f) => readText(path.join(record, f))))).join('\n');
    },
    teardown: async () => {
      await storage.close();
      await opened.teardown();
    },
  };
}

const local = ({ storedKey }: { storedKey: string }) =>
  trackingOf(
    (folder) => ({ type: 'local', parameters: { log_folder: folder } }),
    (c) => `${c}.log`,
    storedKey,
  );

/** The in-house ticket plugin of test/fixtures/plugins: a ticket line per step. */
const tickets = ({ storedKey }: { storedKey: string }) =>
  trackingOf(
    (folder) => ({ type: path.join(FIXTURE_PLUGINS, 'ticket-tracking.js'), parameters: { folder, queue: 'PKI' } }),
    (c) => `${c}.tickets`,
    storedKey,
  );

trackingContract('local', local);
trackingContract('in-house tickets (test/fixtures/plugins)', tickets);
