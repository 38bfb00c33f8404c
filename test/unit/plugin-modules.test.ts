// In-house plugin modules named by a blueprint `type`: found by path (relative to the blueprint) or as an
// installed package, validated at load with file and line, and usable through the same seams as built-in plugins.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createActivities } from '../../src/activities';
import { writeTrackingLine } from '../../src/activities/report';
import { createCredentialResolver } from '../../src/blueprint/credentials';
import { BlueprintError, formatIssue } from '../../src/blueprint/errors';
import { loadBlueprints } from '../../src/catalog';
import { openServer, using, type PluginEnvironment } from '../../src/catalog/open';
import { issueLeaf, makeCa, makeTempDir, writeBlueprint } from '../helpers/pki';
import { deployPair } from '../../src/plugins/deploy-pair';

const PLUGINS = path.resolve(__dirname, '../../../test/fixtures/plugins');
const plugins: PluginEnvironment = { staging: false, credentialsFor: (b) => createCredentialResolver({ specs: b.credentials, env: {} }) };

describe('in-house plugin modules', () => {
  let dir: string;
  /** The fixtures folder as a blueprint in `dir` names it: a path relative to the blueprint file. */
  let rel: string;

  before(async () => {
    dir = await makeTempDir('autossl-modules-');
    rel = `./${path.relative(dir, PLUGINS)}`;
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  const yaml = (server: string, tracking: string) => `name: inhouse.test
servers:
  - type: ${server}
    parameters: { folder: ${dir}/proxy }
certificate: { type: DV, certificate_authority: Manual, common_name: inhouse.test }
tracking:
  type: ${tracking}
  parameters: { folder: ${dir}/tickets, queue: PKI }
`;

  async function issues(text: string): Promise<string[]> {
    const file = await writeBlueprint(dir, text, 'bad.yaml');
    const err = await loadBlueprints({ blueprint: file }).then(
      () => assert.fail('expected a BlueprintError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BlueprintError, String(err));
    return err.issues.map(formatIssue);
  }

  it('loads a server and a tracking module by path relative to the blueprint, and uses them', async () => {
    const file = await writeBlueprint(dir, yaml(`${rel}/server.js#server`, `${rel}/ticket-tracking.js`));
    const [b] = await loadBlueprints({ blueprint: file });
    assert.equal(b.servers[0].declaredType, `${rel}/server.js#server`);
    assert.equal(b.servers[0].type, `${path.join(PLUGINS, 'server.js')}#server`, 'resolved, so a worker anywhere finds the same file');
    assert.equal(b.tracking?.type, path.join(PLUGINS, 'ticket-tracking.js'));

    const ca = await makeCa();
    const leaf = await issueLeaf(ca, { domains: ['inhouse.test'] });
    await using(await openServer(b, b.servers[0].id, plugins), async (server) => {
      assert.equal(server.describe(), `pem-bundle:${dir}/proxy/inhouse.test.pem`);
      assert.equal(await server.readCurrent(), null);
      await server.deploy(deployPair({ key: leaf.keyPem, certificate: leaf.certPem, chain: [ca.certPem] }));
      assert.deepEqual(await server.readCurrent(), { key: leaf.keyPem, certificate: leaf.certPem + ca.certPem });
    });

    await writeTrackingLine(b, { step: 'csr-created', message: 'CSR made', at: new Date().toISOString(), csr: 'CSR' }, 'cert:inhouse.test', plugins);
    const ticket = JSON.parse(await fs.readFile(path.join(dir, 'tickets', 'inhouse.test.tickets'), 'utf8'));
    assert.deepEqual(ticket, { queue: 'PKI', priority: 3, id: 'cert:inhouse.test', step: 'csr-created', message: 'CSR made', has_csr: true });
  });

  it('finds an installed package named with #export from the blueprint folder', async () => {
    const pkg = path.join(dir, 'node_modules', 'acme-autossl-plugins');
    await fs.mkdir(pkg, { recursive: true });
    await fs.writeFile(path.join(pkg, 'index.js'), `module.exports = require(${JSON.stringify(path.join(PLUGINS, 'server.js'))});\n`);
    const file = await writeBlueprint(
      dir,
      yaml('acme-autossl-plugins#server', 'local').replace('{ folder: ' + dir + '/tickets, queue: PKI }', `{ log_folder: ${dir}/logs }`),
    );
    const [b] = await loadBlueprints({ blueprint: file });
    assert.equal(b.servers[0].type, `${path.join(pkg, 'index.js')}#server`);
  });

  it('reports a module that is missing, throws, exports no plugin or the wrong kind, with file and line', async () => {
    const found = await issues(`name: broken.test
servers:
  - type: ./nowhere/server.js
    parameters: {}
  - type: ${rel}/throws.js
    parameters: {}
  - type: ${rel}/not-a-plugin.js#server
    parameters: {}
  - type: ${rel}/not-a-plugin.js#inventory
    parameters: {}
  - type: ${rel}/ticket-tracking.js
    parameters: {}
certificate: { type: DV, certificate_authority: Manual, common_name: broken.test }
`);
    const file = path.join(dir, 'bad.yaml');
    assert.deepEqual(found, [
      `${file}:3:11: servers[0].type: plugin module './nowhere/server.js' not found (looked from ${dir})`,
      `${file}:5:11: servers[1].type: plugin module ${PLUGINS}/throws.js failed to load: inventory client not configured`,
      `${file}:7:11: servers[2].type: plugin module ${PLUGINS}/not-a-plugin.js#server is not an autossl plugin: create must be a function (the plugin factory)`,
      `${file}:9:11: servers[3].type: plugin module ${PLUGINS}/not-a-plugin.js#inventory is not an autossl plugin: it has no export 'inventory'`,
      `${file}:11:11: servers[4].type: plugin module ${PLUGINS}/ticket-tracking.js defines a tracking plugin ('tickets'), not a server plugin`,
    ]);
  });

  it("checks a module's parameters at load like a built-in's: unknown, missing, wrong type, bounds", async () => {
    const found = await issues(`name: params.test
servers:
  - type: ${rel}/server.js#server
    parameters: { foldr: /tmp/x }
certificate: { type: DV, certificate_authority: Manual, common_name: params.test }
tracking:
  type: ${rel}/ticket-tracking.js
  parameters: { folder: /tmp/t, queue: PKI, priority: 0 }
`);
    const file = path.join(dir, 'bad.yaml');
    assert.deepEqual(found, [
      `${file}:4:19: unknown parameter 'foldr' in servers[0].parameters of server type 'pem-bundle' (did you mean 'folder'?)`,
      `${file}:4:17: missing parameter 'folder' in servers[0].parameters (required by server type 'pem-bundle')`,
      `${file}:8:55: tracking.parameters.priority must be 1 or more`,
    ]);
  });

  it("an in-house CA's declared capability decides the renewal: a person awaited, the CSR stored as <name>.csr", async () => {
    const file = await writeBlueprint(
      dir,
      `name: desk.test
certificate: { type: DV, certificate_authority: Desk, common_name: desk.test, private_key_type: ECDSA, private_key_size: 256 }
certificate_authorities:
  - { name: Service desk, key: Desk, type: ${rel}/service-desk-ca.js, parameters: { queue: PKI } }
storage: { type: local, parameters: { path: ${dir}/desk-storage } }
`,
      'desk.yaml',
    );
    const [b] = await loadBlueprints({ blueprint: file });
    const { prepareRenewal } = createActivities(plugins);
    const prepared = (await new MockActivityEnvironment().run(prepareRenewal, b)) as Awaited<ReturnType<typeof prepareRenewal>>;
    assert.equal(prepared.awaitsPerson, true);
    assert.equal(await fs.readFile(path.join(dir, 'desk-storage', 'desk.test.csr'), 'utf8'), prepared.csr);
  });
});
