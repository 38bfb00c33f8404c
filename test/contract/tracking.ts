// The tracking contract (TrackingPlugin in src/plugins/types.ts): each step of a renewal becomes one more entry
// of the certificate's record, public data only.
import assert from 'node:assert/strict';
import { before, describe } from 'node:test';
import type { TrackingEntry, TrackingPlugin } from '../../src/plugins/types';
import { issueLeaf, makeCa, type TestLeaf } from '../helpers/pki';
import { CONTRACT_DOMAIN, CONTRACT_DOMAINS, contractCheck, type Todo } from './harness';

export interface TrackingUnderTest {
  tracking: TrackingPlugin;
  /** The entries the back end holds for a certificate, one text each, oldest first, read without the plugin. */
  entries(certificate: string): Promise<string[]>;
  /** Everything the back end holds, joined. */
  written(): Promise<string>;
  teardown(): Promise<void>;
}

/** `storedKey` is put in the blueprint's storage as the certificate's key, where a careless plugin could pick it up. */
export type TrackingSetup = (options: { storedKey: string }) => Promise<TrackingUnderTest>;

export function trackingContract(name: string, setup: TrackingSetup, todo: Todo = {}): void {
  describe(`tracking contract: ${name}`, () => {
    let leaf: TestLeaf;
    before(async () => {
      leaf = await issueLeaf(await makeCa(), { domains: CONTRACT_DOMAINS });
    });
    const check = contractCheck(setup, (t) => t.tracking.close(), todo);
    const withStoredKey = () => ({ storedKey: leaf.keyPem });
    const entry = (step: string, extra: Partial<TrackingEntry> = {}): TrackingEntry => ({
      time: new Date().toISOString(),
      workflow_id: `cert:${CONTRACT_DOMAIN}`,
      certificate: CONTRACT_DOMAIN,
      step,
      message: `contract step ${step}`,
      ...extra,
    });

    check(
      'record() appends one entry per step and leaves the earlier ones as they were',
      async ({ tracking, entries }) => {
        assert.deepEqual(await entries(CONTRACT_DOMAIN), []);
        await tracking.record(entry('renewal-started'));
        const first = await entries(CONTRACT_DOMAIN);
        assert.equal(first.length, 1);
        assert.match(first[0], /renewal-started/);
        await tracking.record(entry('certificate-issued', { csr: leaf.csrPem, certificate_pem: leaf.certPem }));
        const both = await entries(CONTRACT_DOMAIN);
        assert.equal(both.length, 2);
        assert.equal(both[0], first[0], 'the first entry is untouched');
        assert.match(both[1], /certificate-issued/);
      },
      withStoredKey,
    );

    check(
      'record() never writes a private key',
      async ({ tracking, written }) => {
        await tracking.record(entry('csr-created', { csr: leaf.csrPem }));
        await tracking.record(entry('certificate-issued', { csr: leaf.csrPem, certificate_pem: leaf.certPem }));
        const all = await written();
        assert.ok(all.length > 0, 'the back end holds the record');
        assert.doesNotMatch(all, /PRIVATE KEY/);
        // Base64 survives JSON and other escaping: a line of the stored key is found in any encoding of it.
        assert.ok(!all.includes(leaf.keyPem.split('\n')[1]), 'the stored key appears in the record');
      },
      withStoredKey,
    );
  });
}
