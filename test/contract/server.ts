// The server contract (ServerPlugin in src/plugins/types.ts): what every server implementation, built-in or
// in-house, does as a user sees it. The setup reads the target without the plugin (files, the API's state), so
// a plugin cannot pass by agreeing with itself.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import { PluginConfigError } from '../../src/plugins/errors';
import type { ServerPlugin } from '../../src/plugins/types';
import { coverage, keyMatchesCertificate, parseCertificate } from '../../src/x509';
import { issueLeaf, makeCa, type TestCa, type TestLeaf } from '../helpers/pki';
import { CONTRACT_DOMAINS, contractCheck, pemBlocks, type Todo } from './harness';
import { deployPair } from '../../src/plugins/deploy-pair';

export interface ServerUnderTest {
  server: ServerPlugin;
  /** The key and certificate file (or bundle) as the target holds them, read without the plugin; null when none. */
  readBack(): Promise<{ key: string | null; certificate: string } | null>;
  /** For a server serving HTTP-01: what the target serves for `token`, read without the plugin; null when nothing. */
  served?(token: string): Promise<string | null>;
  /** Strings that must never appear in what the plugin says of itself (credentials). */
  secrets?: string[];
  teardown(): Promise<void>;
}

export interface ServerSetupOptions {
  /** Configure the server to deploy the full chain (`deploy_full_chain: true`) where it has the choice. */
  fullChain?: boolean;
}

export type ServerSetup = (options: ServerSetupOptions) => Promise<ServerUnderTest>;

const TOKEN = 'contract_token-0123456789';

export function serverContract(name: string, setup: ServerSetup, todo: Todo = {}): void {
  describe(`server contract: ${name}`, () => {
    let ca: TestCa;
    const leaves: TestLeaf[] = [];
    const leaf = async (i: number): Promise<TestLeaf> => {
      ca ??= await makeCa({ commonName: 'autossl contract CA' });
      return (leaves[i] ??= await issueLeaf(ca, { domains: CONTRACT_DOMAINS }));
    };
    const pairOf = (l: TestLeaf) => deployPair({ key: l.keyPem, certificate: l.certPem, chain: [ca.certPem] });

    const check = contractCheck(setup, (t) => t.server.close(), todo);

    /** readCurrent right after deploying `l`: the same pair, or for a reporting server the same names and expiry. */
    async function assertCurrentIs(t: ServerUnderTest, l: TestLeaf): Promise<void> {
      const current = await t.server.readCurrent();
      assert.ok(current, 'readCurrent returns the deployed certificate');
      if ('reported' in current) {
        const info = parseCertificate(l.certPem);
        // A site reports the names it serves, which the deployed certificate must cover.
        assert.ok(current.reported.domains.length > 0, 'a reporting server names what it serves');
        assert.deepEqual(coverage(info.domains, current.reported.domains, false).missing, [], 'the deployed certificate covers the reported names');
        assert.equal(new Date(current.reported.notAfter).toISOString(), new Date(info.notAfter).toISOString(), 'reported expiry');
      } else {
        assert.ok(current.key && keyMatchesCertificate(current.key, l.certPem), 'readCurrent returns the deployed key');
        assert.equal(pemBlocks(current.certificate)[0], pemBlocks(l.certPem)[0], 'readCurrent returns the deployed leaf first');
      }
      const back = await t.readBack();
      assert.ok(back, 'the target holds a certificate');
      // The same key, in whatever encoding the target wants (Imperva's API takes EC keys as SEC1).
      if (back.key !== null) assert.ok(keyMatchesCertificate(back.key, l.certPem), 'the target holds the deployed key');
      assert.equal(pemBlocks(back.certificate)[0], pemBlocks(l.certPem)[0], 'the target holds the deployed leaf first');
    }

    check('describe() is one line naming the target, without credentials', async (t) => {
      const said = t.server.describe();
      assert.match(said, /^\S[^\n]*$/);
      for (const secret of t.secrets ?? []) assert.ok(!said.includes(secret), `describe() holds a credential: ${said}`);
    });

    check('readCurrent() is null on an empty target', async (t) => {
      assert.equal(await t.readBack(), null, 'the setup gives an empty target');
      assert.equal(await t.server.readCurrent(), null);
    });

    check('deploy() then readCurrent() returns what was deployed', async (t) => {
      const l = await leaf(0);
      await t.server.deploy(pairOf(l));
      await assertCurrentIs(t, l);
    });

    check('a second deploy() replaces the first', async (t) => {
      await t.server.deploy(pairOf(await leaf(0)));
      const second = await leaf(1);
      await t.server.deploy(pairOf(second));
      await assertCurrentIs(t, second);
      const back = (await t.readBack())!;
      assert.ok(!back.certificate.includes(pemBlocks(leaves[0].certPem)[0]), 'nothing of the first certificate is left');
    });

    check(
      'with the full chain, the chain follows the leaf',
      async (t) => {
        const l = await leaf(0);
        await t.server.deploy(pairOf(l));
        const back = (await t.readBack())!;
        assert.deepEqual(pemBlocks(back.certificate), [...pemBlocks(l.certPem), ...pemBlocks(ca.certPem)]);
        const current = await t.server.readCurrent();
        if (current && !('reported' in current)) assert.deepEqual(pemBlocks(current.certificate), pemBlocks(back.certificate));
      },
      () => ({ fullChain: true }),
    );

    check('without the full chain, the leaf stands alone or is followed by exactly the chain', async (t) => {
      const l = await leaf(0);
      await t.server.deploy(pairOf(l));
      const blocks = pemBlocks((await t.readBack())!.certificate);
      assert.ok(
        [1, 2].includes(blocks.length) && blocks[0] === pemBlocks(l.certPem)[0] && (blocks.length === 1 || blocks[1] === pemBlocks(ca.certPem)[0]),
        `deployed blocks: ${blocks.length}`,
      );
    });

    check('putChallenge and removeChallenge: both or neither, and what is put is served until removed', async (t) => {
      const { putChallenge, removeChallenge } = t.server;
      assert.equal(typeof putChallenge, typeof removeChallenge, 'both or neither');
      assert.equal(typeof putChallenge === 'function', t.served !== undefined, 'the setup reads challenges exactly when the server serves them');
      if (!t.server.putChallenge || !t.server.removeChallenge || !t.served) return;
      assert.equal(await t.served(TOKEN), null);
      await t.server.putChallenge(TOKEN, `${TOKEN}.thumbprint`);
      assert.equal(await t.served(TOKEN), `${TOKEN}.thumbprint`);
      await t.server.removeChallenge(TOKEN);
      assert.equal(await t.served(TOKEN), null);
      // The ACME CA cleans up whatever happened, also a challenge that was never put.
      await t.server.removeChallenge(TOKEN);
    });

    check('a challenge token that is no base64url is refused before it names a file', async (t) => {
      if (!t.server.putChallenge || !t.served) return;
      await assert.rejects(t.server.putChallenge('../escape', 'x'), PluginConfigError);
      assert.equal(await t.served('../escape'), null, 'nothing written beside the challenge folder');
    });

    check('close() may be called again', async (t) => {
      await t.server.deploy(pairOf(await leaf(0)));
      await t.server.close();
      await t.server.close();
    });
  });
}
