// The DNS provider contract (DnsProvider in src/plugins/dns/index.ts): DNS-01 records as the zone's server
// answers them, read by a resolver that is not the code under test.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe } from 'node:test';
import type { DnsProvider } from '../../src/plugins/dns';
import { contractCheck, type Todo } from './harness';

export interface DnsUnderTest {
  provider: DnsProvider;
  /** A zone the provider may write to. */
  zone: string;
  /** The TXT values the zone's server answers for `fqdn`, asked without the provider; [] when none. */
  txt(fqdn: string): Promise<string[]>;
  teardown(): Promise<void>;
}

export type DnsSetup = () => Promise<DnsUnderTest>;

/** What an ACME key authorisation digest looks like: 43 base64url characters. */
const challengeValue = (): string => randomBytes(32).toString('base64url');

export function dnsContract(name: string, setup: DnsSetup, todo: Todo = {}): void {
  describe(`DNS provider contract: ${name}`, () => {
    let count = 0;
    const check = contractCheck(setup, (t) => t.provider.close(), todo);
    // A name of its own per check: records of one check never meet another's.
    const nameIn = (zone: string) => `_acme-challenge.contract-${process.pid}-${count++}.${zone}`;

    check('present() resolves with the TXT record served, cleanup() removes it', async ({ provider, txt, zone }) => {
      const fqdn = nameIn(zone);
      const value = challengeValue();
      assert.deepEqual(await txt(fqdn), []);
      await provider.present(fqdn, value);
      assert.deepEqual(await txt(fqdn), [value]);
      await provider.cleanup(fqdn, value);
      assert.deepEqual(await txt(fqdn), []);
    });

    check('two values at one name are both served, and cleanup() removes exactly one', async ({ provider, txt, zone }) => {
      const fqdn = nameIn(zone);
      // A wildcard and its apex in one order: two challenges at the same name.
      const [apex, wildcard] = [challengeValue(), challengeValue()];
      await provider.present(fqdn, apex);
      await provider.present(fqdn, wildcard);
      assert.deepEqual((await txt(fqdn)).sort(), [apex, wildcard].sort());
      await provider.cleanup(fqdn, apex);
      assert.deepEqual(await txt(fqdn), [wildcard]);
      await provider.cleanup(fqdn, wildcard);
      assert.deepEqual(await txt(fqdn), []);
    });
  });
}
