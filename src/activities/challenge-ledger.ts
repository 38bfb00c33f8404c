// HTTP-01 tokens an issuing attempt has placed on servers. A `finally` removes them when the attempt ends, but
// not when the worker dies: so the ledger travels in the activity's heartbeat details, and the next attempt
// (on any worker) removes whatever the dead one left before it starts.
import type { ServerPlugin } from '../plugins/types';

/** What `issueCertificate` heartbeats. Tokens are public (the CA fetches them over plain HTTP). */
export interface IssueHeartbeat {
  tokens: string[];
}

export class ChallengeLedger {
  private readonly placed = new Set<string>();

  /** `onChange` is told at once, before a token is placed, so a crash right after still finds it recorded. */
  constructor(private readonly onChange: () => void) {}

  details(): IssueHeartbeat {
    return { tokens: [...this.placed] };
  }

  /** Removes the tokens a previous attempt recorded; those that fail to go stay recorded for the next one. */
  async removeLeftovers(previous: unknown, servers: ServerPlugin[]): Promise<void> {
    const tokens = (previous as Partial<IssueHeartbeat> | undefined)?.tokens;
    if (!Array.isArray(tokens)) return;
    for (const token of tokens) {
      if (typeof token !== 'string') continue;
      const results = await Promise.allSettled(servers.map((s) => s.removeChallenge(token)));
      if (results.some((r) => r.status === 'rejected')) this.placed.add(token);
    }
    this.onChange();
  }

  /** The same servers, with every placed token recorded until all of them have removed it. */
  track(servers: ServerPlugin[]): ServerPlugin[] {
    const holders = new Map<string, Set<ServerPlugin>>();
    return servers.map((server): ServerPlugin => ({
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
    }));
  }
}
