// The certificate authority contract (CaPlugin in src/plugins/types.ts): an automated CA issues a leaf for the
// CSR's names and key with the chain it hangs from; one a person deals with refuses, with its own error.
import assert from 'node:assert/strict';
import { describe } from 'node:test';
import type { IssueRequest, CaPlugin } from '../../src/plugins/types';
import { certificateAuthority } from '../../src/catalog/open';
import { findPlugin } from '../../src/catalog';
import { createCsr, keyMatchesCertificate, parseCertificate, verifyChain } from '../../src/x509';
import { makeKey } from '../helpers/pki';
import { CONTRACT_DOMAINS, contractCheck, type Todo } from './harness';

export interface CaUnderTest {
  ca: CaPlugin;
  /** What the activity hands `issue` besides the CSR: the blueprint naming this CA, its servers (HTTP-01). */
  request: Omit<IssueRequest, 'csr'>;
  /** For a CA a person deals with: what `issue` rejects with (an error class or an assert.rejects matcher). */
  refusal?: Parameters<typeof assert.rejects>[1];
  teardown(): Promise<void>;
}

export type CaSetup = () => Promise<CaUnderTest>;

export function caContract(name: string, setup: CaSetup, todo: Todo = {}): void {
  describe(`CA contract: ${name}`, () => {
    const check = contractCheck(setup, (t) => t.ca.close(), todo);
    const csrFor = async () => {
      const keyPem = await makeKey();
      const [commonName, ...rest] = CONTRACT_DOMAINS;
      return { keyPem, csr: await createCsr({ keyPem, commonName, domains: rest }) };
    };

    check('issue() returns a leaf for the CSR’s names and key, with the chain it verifies against', async (t) => {
      const { keyPem, csr } = await csrFor();
      // A CA that awaits a person (its catalog entry says so) refuses; the renewal never calls it.
      if (findPlugin('ca', certificateAuthority(t.request.blueprint).type)?.capabilities?.awaitsPerson) {
        assert.ok(t.refusal, 'the setup says how a CA a person deals with refuses');
        await assert.rejects(t.ca.issue({ ...t.request, csr }), t.refusal);
        return;
      }
      const issued = await t.ca.issue({ ...t.request, csr });
      const leaf = parseCertificate(issued.certificate);
      assert.deepEqual([...leaf.domains].sort(), [...CONTRACT_DOMAINS].sort(), 'exactly the names asked for');
      assert.equal(leaf.isCa, false);
      assert.ok(keyMatchesCertificate(keyPem, issued.certificate), "the leaf carries the CSR's key");
      assert.ok(issued.chain.length > 0, 'the chain comes with the leaf');
      assert.equal(parseCertificate(issued.chain[0]).subject, leaf.issuer, 'the chain starts with the issuer of the leaf');
      assert.deepEqual(verifyChain(issued.certificate, issued.chain), { ok: true });
    });
  });
}
