// The remote's URL: which transport it names, refused with a password in it, shown without userinfo.
import { PluginConfigError } from '../../errors';

export function transportOf(url: string): 'https' | 'ssh' | 'file' | undefined {
  if (/^https?:\/\//i.test(url)) return 'https';
  if (/^(ssh|git\+ssh):\/\//i.test(url) || /^[^/:]+@[^/:]+:/.test(url)) return 'ssh';
  if (/^file:\/\//i.test(url)) return 'file';
  return undefined;
}

/** Blueprints travel in workflow history: a password written into git_url would be recorded there. */
export function assertNoPassword(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // scp-like `user@host:path` is no URL and cannot hold a password.
    if (transportOf(url) === 'ssh') return;
    throw new PluginConfigError('storage git', 'git_url is not a valid URL');
  }
  if (parsed.password) {
    parsed.password = '';
    throw new PluginConfigError(`storage git:${parsed.href}`, 'git_url holds a password: name an entry of credentials: instead');
  }
}

/** The URL as a person is shown it: without userinfo, so without an account name or a password. */
export function withoutUserinfo(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  } catch {
    // scp-like `user@host:path` is no URL.
    return url.replace(/^[^/:@]+@/, '');
  }
}

/** Replaces secrets, raw or URL-encoded, in whatever git printed. */
export function scrub(text: string, secrets: string[]): string {
  return secrets.reduce((t, s) => t.split(s).join('***'), text);
}
