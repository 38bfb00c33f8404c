// Credential resolution as AutoSSL does it (command line, ini file, environment, terminal prompt). Runs on the
// worker or in the CLI only: workflows carry credential names, never values.

/** Field values of one credential, e.g. `{ username, password }` or `{ api_key, api_id }`. */
export type CredentialValues = Record<string, string>;

export interface CredentialResolver {
  /**
   * Resolves credential `name` (an entry of the blueprint's `credentials:`), merging `extra` non-secret fields.
   * Throws a `CredentialError` naming the credential (never a value) when it cannot be found.
   */
  resolve(name: string, extra?: Record<string, unknown>): Promise<CredentialValues>;
}
