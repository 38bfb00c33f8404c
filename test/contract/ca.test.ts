// Every certificate authority implementation against the CA contract. Adding a CA plugin = one line below.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ManualCaError } from '../../src/plugins/errors';
import { openCa, openServer } from '../../src/catalog/open';
import type { ServerPlugin } from '../../src/plugins/types';
import { serveAcmeDirs, startPebble } from '../helpers/pebble';
import { makeTempDir } from '../helpers/pki';
import { CONTRACT_DOMAINS, FIXTURE_PLUGINS, openBlueprint, sharedService } from './harness';
import { caContract, type CaUnderTest } from './ca';

/** Opens the CA of a blueprint whose certificate names `ca` (and the blueprint's servers, for HTTP-01). */
async function caOf(ca: (dir: string) => Record<string, unknown>, more: (dir: string) => Record<string, unknown> = () => ({})): Promise<CaUnderTest> {
  const opened = await openBlueprint((dir) => ({
    certificate: { type: 'DV', certificate_authority: 'UnderTest', common_name: CONTRACT_DOMAINS[0], san: CONTRACT_DOMAINS.slice(1) },
    certificate_authorities: [{ name: 'Under test', key: 'UnderTest', ...ca(dir) }],
    ...more(dir),
  }));
  const servers: ServerPlugin[] = await Promise.all(opened.blueprint.servers.map((s) => openServer(opened.blueprint, s.id, opened.env)));
  return {
    ca: await openCa(opened.blueprint, opened.env),
    request: { blueprint: opened.blueprint, servers },
    teardown: async () => {
      await Promise.all(servers.map((s) => s.close()));
      await opened.teardown();
    },
  };
}

/** Pebble, validating HTTP-01 from one folder every setup's server writes its challenges to. */
const pebble = sharedService(
  async () => {
    const acmeDir = await makeTempDir('autossl-contract-acme-');
    const ca = await startPebble();
    const web = await serveAcmeDirs(ca.httpPort, [acmeDir]);
    return { ca, web, acmeDir };
  },
  async ({ ca, web, acmeDir }) => {
    await web.close();
    await ca.stop();
    await fs.rm(acmeDir, { recursive: true, force: true });
  },
);

const acme = async () => {
  const { ca, acmeDir } = await pebble.get();
  return caOf(
    (dir) => ({
      type: 'acme',
      acme_api: { production: ca.directoryUrl },
      contact_email: 'admin@example.test',
      storage: { type: 'local', name: 'account', parameters: { path: path.join(dir, 'ca') } },
      parameters: { ca_bundle: ca.caBundlePath },
    }),
    (dir) => ({ servers: [{ type: 'local', parameters: { path: path.join(dir, 'web'), acme_dir: acmeDir } }] }),
  );
};

const localCa = () =>
  caOf((dir) => ({
    type: 'local-ca',
    storage: { type: 'local', parameters: { path: path.join(dir, 'ca') } },
    parameters: { ca_private_key: 'autossl_ca.key', ca_certificate: 'autossl_ca.crt', create_if_missing: true },
  }));

const manual = async () => ({
  ...(await caOf(() => ({ type: 'manual' }))),
  refusal: (err: unknown) => err instanceof ManualCaError && !err.retryable && /Under test/.test(err.message),
});

/** An in-house CA that, like the manual one, leaves the order to a person (test/fixtures/plugins). */
const serviceDesk = async () => ({
  ...(await caOf(() => ({ type: path.join(FIXTURE_PLUGINS, 'service-desk-ca.js'), parameters: { queue: 'PKI' } }))),
  refusal: /a person orders this certificate/,
});

caContract('acme (Pebble, HTTP-01)', acme);
caContract('local-ca', localCa);
caContract('manual', manual);
caContract('in-house service-desk (test/fixtures/plugins)', serviceDesk);
