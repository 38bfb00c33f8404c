// Challenges an issuing attempt has placed: HTTP-01 tokens on servers, DNS-01 TXT records. A `finally` removes
// them when the attempt ends, but not when the worker dies: so the ledger travels in the activity's heartbeat
// details, and the next attempt (on any worker) removes whatever the dead one left before it starts.
import type { DnsProvider } from '../plugins/dns';
import { servesHttp01 } from '../plugins/challenge';
import type { ServerPlugin } from '../plugins/types';

interface TxtRecord {
  fqdn: string;
  value: string;
}

/** What `issueCertificate` heartbeats. All public: the CA fetches tokens over plain HTTP, anyone can query DNS. */
export interface IssueHeartbeat {
  tokens: string[];
  txt?: TxtRecord[];
}

const txtKey = (r: TxtRecord) => JSON.stringify([r.fqdn, r.value]);

export class ChallengeLedger {
  private readonly placed = new Set<string>();
  private readonly txt = new Map<string, TxtRecord>();

  /** `onChange` is told at once, before a challenge is placed, so a crash right after still finds it recorded. */
  constructor(private readonly onChange: () => void) {}

  details(): IssueHeartbeat {
    return { tokens: [...this.placed], ...(this.txt.size > 0 && { txt: [...this.txt.values()] }) };
  }

  /**
   * Removes the tokens a previous attempt recorded; those that fail to go stay recorded for the next one. Its TXT
   * records stay recorded until `trackDns` removes them.
   */
  async removeLeftovers(previous: unknown, servers: ServerPlugin[]): Promise<void> {
    const { tokens, txt } = (previous ?? {}) as Partial<IssueHeartbeat>;
    for (const r of Array.isArray(txt) ? txt : []) {
      if (typeof r?.fqdn !== 'string' || typeof r.value !== 'string') continue;
      this.txt.set(txtKey(r), { fqdn: r.fqdn, value: r.value });
    }
    for (const token of Array.isArray(tokens) ? tokens : []) {
      if (typeof token !== 'string') continue;
      const results = await Promise.allSettled(servers.filter(servesHttp01).map((s) => s.removeChallenge(token)));
      if (results.some((r) => r.status === 'rejected')) this.placed.add(token);
    }
    this.onChange();
  }

  /**
   * The same DNS provider, with every TXT record recorded while it exists. First removes what is recorded so far,
   * which can only be a dead attempt's: this attempt publishes through the provider returned here.
   */
  async trackDns(provider: DnsProvider): Promise<DnsProvider> {
    const leftovers = [...this.txt.values()];
    for (const r of leftovers) {
      const removed = await provider.cleanup(r.fqdn, r.value).then(
        () => true,
        () => false,
      );
      if (removed) this.txt.delete(txtKey(r));
    }
    if (leftovers.length) this.onChange();
    return {
      present: async (fqdn, value) => {
        this.txt.set(txtKey({ fqdn, value }), { fqdn, value });
        this.onChange();
        await provider.present(fqdn, value);
      },
      cleanup: async (fqdn, value) => {
        await provider.cleanup(fqdn, value);
        this.txt.delete(txtKey({ fqdn, value }));
        this.onChange();
      },
      close: () => provider.close(),
    };
  }

  /** The same servers, with every placed token recorded until all of them have removed it (those serving none as they are). */
  track(servers: ServerPlugin[]): ServerPlugin[] {
    const holders = new Map<string, Set<ServerPlugin>>();
    return servers.map((server): ServerPlugin =>
      !servesHttp01(server)
        ? server
        : {
            spec: server.spec,
            describe: () => server.describe(),
            readCurrent: () => server.readCurrent(),
            deploy: (pair) => server.deploy(pair),
            close: () => server.close(),
            putChallenge: async (token, content) => {
              this.placed.add(token);
              holders.set(token, (holders.get(token) ?? new Set()).add(server));
              this.onChange();
              await server.putChallenge(token, content);
            },
            removeChallenge: async (token) => {
              await server.removeChallenge(token);
              const left = holders.get(token);
              left?.delete(server);
              if (left?.size === 0) {
                holders.delete(token);
                this.placed.delete(token);
                this.onChange();
              }
            },
          },
    );
  }
}
