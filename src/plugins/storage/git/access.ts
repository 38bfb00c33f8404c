// How git reaches the remote without a secret on a command line, in a URL or in the clone's config: an https
// password through a credential helper reading two variables of the git process, ssh through GIT_SSH_COMMAND
// (host key checked, key file, an askpass program for a passphrase).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { inspect } from 'node:util';
import { PluginConfigError } from '../../errors';
import { shellQuote } from '../../shell';
import type { PluginContext, StorageFactory } from '../../types';
import { PRIVATE_FOLDER_MODE } from './clone-lock';
import { transportOf } from './url';

/** Answers `get` only (not `store` or `erase`); git appends the action as "$1". Holds variable names, no secret. */
const CREDENTIAL_HELPER = `!f() { if [ "$1" = get ]; then printf 'username=%s\\npassword=%s\\n' "$AUTOSSL_GIT_USERNAME" "$AUTOSSL_GIT_PASSWORD"; fi; }; f`;

/** ssh reads a passphrase only from a program; this one prints a variable of the ssh process that runs it. */
const ASKPASS_SCRIPT = `#!/bin/sh\nprintf '%s\\n' "$AUTOSSL_GIT_SSH_PASSPHRASE"\n`;

/** How git reaches the remote: environment and `-c` settings for every command, and what to scrub. */
export interface Access {
  env: Record<string, string>;
  config: string[];
  secrets: string[];
}

export const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

export async function accessFor(spec: Parameters<StorageFactory>[0], ctx: PluginContext, url: string, cacheRoot: string): Promise<Access> {
  const p = spec.parameters;
  const credential = spec.credentials ? await ctx.credentials.resolve(spec.credentials, spec.credentialsParameters) : {};
  const name = str(p.committer_name) ?? 'autossl';
  const email = str(p.committer_email) ?? 'autossl@localhost';
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    // Messages are recognised by their English text, and nobody is there to answer a prompt.
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    // Empty rather than unset: git then asks neither GIT_ASKPASS, core.askPass nor SSH_ASKPASS.
    GIT_ASKPASS: '',
    GIT_AUTHOR_NAME: name,
    GIT_AUTHOR_EMAIL: email,
    GIT_COMMITTER_NAME: name,
    GIT_COMMITTER_EMAIL: email,
  };
  // An empty value empties the helper list: a `store` helper in the machine's config would write the password.
  const config = ['credential.helper='];
  const secrets: string[] = [];
  const transport = transportOf(url);

  if (transport === 'https' && (credential.username !== undefined || credential.password !== undefined)) {
    const username = credential.username ?? '';
    const password = credential.password ?? '';
    if (/[\n\0]/.test(username + password)) {
      throw new PluginConfigError(
        `storage git:${url}`,
        `credential '${spec.credentials}' holds a line break, which git's credential protocol cannot carry`,
      );
    }
    env.AUTOSSL_GIT_USERNAME = username;
    env.AUTOSSL_GIT_PASSWORD = password;
    // Scoped to the repository's origin, so a redirect to another host never receives the password.
    config.push(`credential.${new URL(url).origin}.helper=${CREDENTIAL_HELPER}`);
    if (password) secrets.push(password, encodeURIComponent(password));
  } else if (transport === 'ssh') {
    const strict = p.accept_unknown_host_key === true ? 'accept-new' : 'yes';
    const ssh = ['ssh', '-o', `StrictHostKeyChecking=${strict}`, '-o', 'PreferredAuthentications=publickey'];
    const knownHosts = str(p.known_hosts_file);
    if (knownHosts) ssh.push('-o', shellQuote(`UserKnownHostsFile=${knownHosts}`));
    const keyFile = str(p.private_key_file) ?? str(credential.private_key_file);
    if (keyFile) ssh.push('-i', shellQuote(keyFile), '-o', 'IdentitiesOnly=yes');
    const username = str(credential.username);
    // A user written in the URL wins; the credential's names the account otherwise.
    if (username && !/^(ssh|git\+ssh):\/\/[^/]*@|^[^/:]+@/i.test(url)) ssh.push('-l', shellQuote(username));
    const passphrase = str(credential.passphrase);
    if (passphrase) {
      const script = path.join(cacheRoot, 'ssh-askpass');
      await fs.writeFile(script, ASKPASS_SCRIPT, { mode: PRIVATE_FOLDER_MODE });
      env.SSH_ASKPASS = script;
      env.SSH_ASKPASS_REQUIRE = 'force';
      env.AUTOSSL_GIT_SSH_PASSPHRASE = passphrase;
      secrets.push(passphrase);
    } else {
      ssh.push('-o', 'BatchMode=yes');
    }
    env.GIT_SSH_COMMAND = ssh.join(' ');
  }
  // simple-git's DEBUG trace prints each spawn's options, environment included: it shows secrets blanked.
  Object.defineProperty(env, inspect.custom, {
    value: () => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, secrets.some((s) => v.includes(s)) ? '***' : v])),
  });
  return { env, config, secrets };
}
