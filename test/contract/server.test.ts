// Every server implementation against the server contract. Adding a server plugin = one line below.
import path from 'node:path';
import { openServer } from '../../src/catalog/open';
import { startIncapsulaStandIn } from '../helpers/incapsula';
import { sshServerEntry, startSshd } from '../helpers/sshd';
import { CONTRACT_DOMAIN, EXAMPLE_PLUGINS, openBlueprint, pemBlocks, readIfExists, sharedService } from './harness';
import { serverContract, type ServerSetupOptions, type ServerUnderTest } from './server';

/** `<folder>/<name>.key` and `.crt`, as local and ssh servers write them. */
async function pairIn(folder: string) {
  const [key, certificate] = await Promise.all(['key', 'crt'].map((kind) => readIfExists(path.join(folder, `${CONTRACT_DOMAIN}.${kind}`))));
  return certificate === null ? null : { key, certificate };
}

/** Opens the blueprint's one server; `served` reads challenge files from `acmeDir` under the blueprint's folder. */
async function serverOf(
  sections: (dir: string) => Record<string, unknown>,
  extra: { credentialEnv?: Record<string, string>; secrets?: string[] } = {},
) {
  const opened = await openBlueprint(sections, extra.credentialEnv);
  const server = await openServer(opened.blueprint, opened.blueprint.servers[0].id, opened.env);
  return { opened, server, secrets: extra.secrets };
}

/** A server writing `<path>/<name>.key|.crt` and challenges to `<acme_dir>/<token>` in the blueprint's folder. */
async function filesServer(entry: (dir: string) => Record<string, unknown>): Promise<ServerUnderTest> {
  const { opened, server } = await serverOf((dir) => ({ servers: [entry(dir)] }));
  return {
    server,
    readBack: () => pairIn(path.join(opened.dir, 'web')),
    served: (token) => readIfExists(path.join(opened.dir, 'acme', token)),
    teardown: opened.teardown,
  };
}

const sshd = sharedService(
  () => startSshd(),
  (s) => s.stop(),
);

const INCAPSULA = { api_id: '31337', api_key: '6f4d1878-contract-secret-key' };
const incapsula = sharedService(
  () => startIncapsulaStandIn({ credentials: INCAPSULA }),
  (api) => api.stop(),
);
let nextSiteId = 7000;

const local = async ({ fullChain }: ServerSetupOptions) =>
  filesServer((dir) => ({ type: 'local', parameters: { path: `${dir}/web`, acme_dir: `${dir}/acme`, deploy_full_chain: !!fullChain } }));

const ssh = async ({ fullChain }: ServerSetupOptions) => {
  const server = await sshd.get();
  return filesServer((dir) => sshServerEntry(server, `${dir}/web`, { acme_dir: `${dir}/acme`, deploy_full_chain: !!fullChain }));
};

const incapsulaSite = async (): Promise<ServerUnderTest> => {
  const api = await incapsula.get();
  const { siteId } = api.addSite({ siteId: nextSiteId++, domain: CONTRACT_DOMAIN });
  const { opened, server, secrets } = await serverOf(
    () => ({
      servers: [{ type: 'incapsula', credentials: 'incapsula', parameters: { site_id: siteId, base_url: api.baseUrl, ca_bundle: api.caBundlePath } }],
      credentials: { incapsula: { type: 'ApiKeyAndId' } },
    }),
    { credentialEnv: { INCAPSULA_API_ID: INCAPSULA.api_id, INCAPSULA_API_KEY: INCAPSULA.api_key }, secrets: [INCAPSULA.api_key] },
  );
  return {
    server,
    secrets,
    readBack: async () => {
      const custom = api.site(siteId)?.custom;
      return custom?.certificate ? { key: custom.privateKey ?? null, certificate: custom.certificate } : null;
    },
    teardown: opened.teardown,
  };
};

/** The example in-house plugin: key, certificate and chain in one `<folder>/<name>.pem`. */
const pemBundle = async (): Promise<ServerUnderTest> => {
  const { opened, server } = await serverOf((dir) => ({
    servers: [{ type: `${EXAMPLE_PLUGINS}/pem-bundle.js#server`, parameters: { folder: `${dir}/proxy` } }],
  }));
  return {
    server,
    readBack: async () => {
      const text = await readIfExists(path.join(opened.dir, 'proxy', `${CONTRACT_DOMAIN}.pem`));
      if (text === null) return null;
      const blocks = pemBlocks(text);
      return { key: blocks.find((b) => b.includes('PRIVATE KEY')) ?? null, certificate: blocks.filter((b) => b.includes('CERTIFICATE')).join('\n') };
    },
    teardown: opened.teardown,
  };
};

serverContract('local', local);
serverContract('ssh', ssh);
serverContract('incapsula (stand-in)', incapsulaSite);
serverContract('in-house pem-bundle (examples/plugins)', pemBundle);
