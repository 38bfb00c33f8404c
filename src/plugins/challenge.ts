// ACME HTTP-01 tokens come from the CA over the network and become file names on the servers: only the
// base64url alphabet (RFC 8555 section 8.3) is accepted, so no token can name '.', '..', a path or an escape.
import { PluginConfigError } from './errors';
import type { ServerPlugin } from './types';

/** base64url characters only; 255 is the longest file name most file systems take. */
const TOKEN = /^[A-Za-z0-9_-]{1,255}$/;

export function assertChallengeToken(token: string, subject: string): void {
  if (!TOKEN.test(token)) {
    // The token itself stays out of the message: it is attacker-controlled text.
    throw new PluginConfigError(
      subject,
      `refused an ACME challenge token of ${token.length} characters: only A-Z, a-z, 0-9, '-' and '_' may name a challenge file`,
    );
  }
}

/** A server that can serve HTTP-01 challenge files. */
export type Http01Server = ServerPlugin & Required<Pick<ServerPlugin, 'putChallenge' | 'removeChallenge'>>;

export const servesHttp01 = (server: ServerPlugin): server is Http01Server =>
  typeof server.putChallenge === 'function' && typeof server.removeChallenge === 'function';
