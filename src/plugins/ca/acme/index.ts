// AutoSSL's AcmeHttp01, on acme-client: any ACME CA (Let's Encrypt, a private CA, Pebble in tests). The account
// key lives in the CA storage under `storage.name` (AutoSSL's file, RSA, is used as it is and its account looked
// up, never registered again); only when nothing is stored there is a key created and an account registered, and
// the issuance says so. HTTP-01 answers go through every server's `acme_dir`, DNS-01 (wildcards, or
// `challenge: dns-01`) through the blueprint's DNS provider. Renewal orders name the certificate they replace and
// ask for the certificate's profile when the CA supports either.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as acme from 'acme-client';
import type { Blueprint, CertificateAuthoritySpec } from '../../../blueprint/types';
import type { RenewalWindow } from '../../../inspect/facts';
import { KeyError, describeKey, generatePrivateKey, splitPemCertificates } from '../../../x509';
import { assertChallengeToken, servesHttp01 } from '../../challenge';
import { openDnsProvider, type DnsProvider } from '../../dns';
import { PluginConfigError, PluginError, PluginIoError, messageOf } from '../../errors';
import { createNamedFile, namedFileCandidates, readNamedFile } from '../../storage/named-file';
import type { CaFactory, IssuedCertificate, IssueRequest, PluginContext, StoragePlugin } from '../../types';
import { ariCertId, fetchRenewalWindow } from './ari';
import { AcmeProblem, AcmeUnreachable, acmeGet, acmeTransport } from './transport';
import { RateLimitedError } from '../rate-limited';
import type { AcmeParameters } from './spec';

type AcmeSpec = CertificateAuthoritySpec & { parameters: AcmeParameters };

type ChallengeType = 'http-01' | 'dns-01';

interface AcmeSettings {
  /** `acme_api` as written; `directoryUrlOf` finds the directory it stands for. */
  api: string;
  /** Which of `acme_api`'s URLs, for messages. */
  stage: 'production' | 'staging';
  caBundle?: string;
  contactEmail?: string;
  accountKeyName: string;
  eabCredentials?: string;
  /** Absent: DNS-01 when the blueprint names a DNS provider, HTTP-01 otherwise. */
  challenge?: ChallengeType;
}

interface Directory {
  renewalInfo?: string;
  meta?: { profiles?: Record<string, unknown> };
}

type OrderRequest = Parameters<acme.Client['createOrder']>[0] & { profile?: string; replaces?: string };

// Polling of challenges and orders: Let's Encrypt validates in seconds, so the first polls come quickly; the
// capped backoff bounds one attempt to about a minute before Temporal's retry takes over.
export const POLLING = { backoffAttempts: 12, backoffMin: 250, backoffMax: 10_000 };

const subjectOf = (spec: CertificateAuthoritySpec) => `certificate authority '${spec.name}' (acme)`;

export const createAcmeCa: CaFactory<AcmeParameters> = async (spec, ctx) => {
  const subject = subjectOf(spec);
  if (!spec.storage) throw new PluginConfigError(subject, 'has no storage: the ACME account key is kept there');
  const settings = await readSettings(spec, ctx, subject);
  const storage = await ctx.openStorage(spec.storage);
  const transport = acmeTransport({ caBundle: settings.caBundle });

  return {
    issue: (request) =>
      transport.run(async () => {
        let account: Account | undefined;
        try {
          account = await registeredAccount(settings, storage, ctx, subject);
          const issued = await order(account.client, account.directory, request, { spec, ctx, settings, subject });
          const notices = untold.get(account.key);
          untold.delete(account.key);
          return notices ? { ...issued, notices } : issued;
        } catch (err) {
          // Whatever failed (a deactivated account, a changed directory), the next attempt starts afresh.
          if (account) forgetAccount(account);
          throw classify(err, subject);
        }
      }),
    close: async () => {
      transport.close();
      await storage.close();
    },
  };
};

/** The CA's renewal window for a certificate; `undefined` when it offers none or anything fails. */
export async function acmeRenewalWindow(
  spec: CertificateAuthoritySpec,
  ctx: PluginContext,
  certificatePem: string,
): Promise<RenewalWindow | undefined> {
  let transport: ReturnType<typeof acmeTransport> | undefined;
  try {
    // Inspection passes the CA as the loader checked it; ACME's parameters have no defaults to add.
    const settings = await readSettings(spec as AcmeSpec, ctx, subjectOf(spec));
    transport = acmeTransport({ caBundle: settings.caBundle, timeoutMs: 10_000 });
    return await transport.run(async () => {
      const { data } = await acmeGet<Directory>(await directoryUrlOf(settings, subjectOf(spec)));
      return data.renewalInfo ? fetchRenewalWindow(data.renewalInfo, certificatePem) : undefined;
    });
  } catch {
    // Renewal information only refines the timing: without it the renewal delay applies, and a CA
    // misconfiguration is reported by the renewal itself.
    return undefined;
  } finally {
    transport?.close();
  }
}

interface Account {
  key: string;
  client: acme.Client;
  directory: Directory;
  until: number;
}

// An account's client, registered and holding the directory, is kept for a while and shared by the issuances in
// this process: each would otherwise fetch the directory twice and look the account up (4 of about 14 requests).
// A failed issuance drops it; so does time, for the directory's sake.
const ACCOUNT_TTL_MS = 10 * 60_000;
const accounts = new Map<string, Promise<Account>>();
// What making an account did that a person must hear of (a new key, a new registration), by account: told with
// the next certificate issued for it, even when the attempt that did it failed later on (a fresh setup often does).
const untold = new Map<string, string[]>();
const tell = (key: string, notice: string) => untold.set(key, [...(untold.get(key) ?? []), notice]);

function forgetAccount(account: Account): void {
  const current = accounts.get(account.key);
  if (current)
    void current.then(
      (a) => a === account && accounts.delete(account.key),
      () => undefined,
    );
}

/**
 * The account key stored under `storage.name`, used as it is (AutoSSL's RSA keys included). Only when nothing is
 * stored under that name, in either form, is a key created, and the notice says where.
 */
async function accountKeyOf(s: AcmeSettings, storage: StoragePlugin, subject: string): Promise<{ pem: string; file: string; notice?: string }> {
  const stored = await readNamedFile(storage, s.accountKeyName, 'key');
  if (stored) {
    try {
      describeKey(stored.content);
    } catch (err) {
      // Replacing it would lose the account: the person who put it there must look at it.
      if (err instanceof KeyError)
        throw new PluginConfigError(subject, `the ACME account key '${stored.file}' in the CA storage is unusable: ${err.message}`);
      throw err;
    }
    return { pem: stored.content, file: stored.file };
  }
  // Created only if absent: issuances racing on a fresh CA storage all continue with the one key that stays.
  const made = await createNamedFile(
    storage,
    s.accountKeyName,
    'key',
    await generatePrivateKey({ type: 'ec', curve: 'P-256' }),
    `${subject}: new ACME account key`,
  );
  const looked = namedFileCandidates(s.accountKeyName, 'key')
    .map((f) => `'${f}'`)
    .join(' nor ');
  return {
    pem: made.content,
    file: made.file,
    ...(made.created && { notice: `new ACME account key '${made.file}' created in the CA storage: neither ${looked} existed there` }),
  };
}

async function registeredAccount(s: AcmeSettings, storage: StoragePlugin, ctx: PluginContext, subject: string): Promise<Account> {
  const accountKey = await accountKeyOf(s, storage, subject);
  const directoryUrl = await directoryUrlOf(s, subject);
  const key = createHash('sha256')
    .update(`${directoryUrl}\0${s.eabCredentials ?? ''}\0${accountKey.pem}`)
    .digest('hex');
  if (accountKey.notice) tell(key, accountKey.notice);
  const cached = accounts.get(key);
  if (cached) {
    const account = await cached.catch(() => undefined);
    if (account && account.until > Date.now()) return account;
    if (accounts.get(key) === cached) accounts.delete(key);
  }
  const pending = (async (): Promise<Account> => {
    const { client, registered } = await registeredClient(s, directoryUrl, accountKey.pem, ctx);
    if (registered) tell(key, `new ACME account ${client.getAccountUrl()} registered at ${directoryUrl} for the account key '${accountKey.file}'`);
    const { data: directory } = await acmeGet<Directory>(directoryUrl);
    return { key, client, directory, until: Date.now() + ACCOUNT_TTL_MS };
  })();
  accounts.set(key, pending);
  const drop = () => accounts.get(key) === pending && accounts.delete(key);
  // Issuances waiting on the same registration share its outcome; a failed one is not kept, nor an old one.
  pending.catch(drop);
  setTimeout(drop, ACCOUNT_TTL_MS).unref();
  return pending;
}

/** A client for the account of `accountKey`: the existing one, or one registered now (`registered`). */
async function registeredClient(
  s: AcmeSettings,
  directoryUrl: string,
  accountKey: string,
  ctx: PluginContext,
): Promise<{ client: acme.Client; registered: boolean }> {
  const eab = s.eabCredentials ? await ctx.credentials.resolve(s.eabCredentials) : undefined;
  const client = new acme.Client({
    directoryUrl,
    accountKey,
    ...(eab && { externalAccountBinding: { kid: eab.api_id, hmacKey: eab.api_key } }),
    ...POLLING,
  });
  // Looking the account up first keeps registration idempotent across workers and restarts, and spends an
  // External Account Binding (single use at some CAs) only on a key that has no account yet.
  try {
    await client.createAccount({ onlyReturnExisting: true });
    return { client, registered: false };
  } catch (err) {
    if (!(err instanceof AcmeProblem && err.type === 'accountDoesNotExist')) throw err;
    await client.createAccount({ termsOfServiceAgreed: true, ...(s.contactEmail && { contact: [`mailto:${s.contactEmail}`] }) });
    return { client, registered: true };
  }
}

// `acme_api` as written → the directory URL it stands for, found once per process.
const directories = new Map<string, string>();

/**
 * AutoSSL's rule: the directory is `<acme_api>/directory`, path prefix included. A URL that already names a
 * directory is used as it is: one ending in /directory, or one where /directory answers with no ACME
 * directory (Pebble's /dir, ZeroSSL's /v2/DV90).
 */
async function directoryUrlOf(s: AcmeSettings, subject: string): Promise<string> {
  const known = directories.get(s.api);
  if (known) return known;
  const written = new URL(s.api);
  const path = written.pathname.replace(/\/+$/, '');
  let resolved = s.api;
  if (!path.endsWith('/directory')) {
    const appended = new URL(written);
    appended.pathname = `${path}/directory`;
    if (await isDirectory(appended.href)) resolved = appended.href;
    else if (!(await isDirectory(s.api))) {
      throw new PluginConfigError(subject, `acme_api.${s.stage}: no ACME directory at ${appended.href} (AutoSSL's rule) nor at ${s.api}`);
    }
  }
  directories.set(s.api, resolved);
  return resolved;
}

/** Whether `url` serves an ACME directory; a CA that cannot answer now is an error worth retrying, not a no. */
async function isDirectory(url: string): Promise<boolean> {
  try {
    const { data } = await acmeGet<Record<string, unknown> | string>(url);
    return typeof data === 'object' && data !== null && ['newNonce', 'newAccount', 'newOrder'].every((k) => typeof data[k] === 'string');
  } catch (err) {
    if (err instanceof AcmeUnreachable || (err instanceof AcmeProblem && (err.rateLimited || err.serverFault))) throw err;
    return false;
  }
}

interface OrderContext {
  spec: CertificateAuthoritySpec;
  ctx: PluginContext;
  settings: AcmeSettings;
  subject: string;
}

async function order(
  client: acme.Client,
  directory: Directory,
  { csr, blueprint, servers, trackDns }: IssueRequest,
  oc: OrderContext,
): Promise<IssuedCertificate> {
  const { subject } = oc;
  const request: OrderRequest = { identifiers: blueprint.certificate.domains.map((value) => ({ type: 'dns', value })) };
  const profile = blueprint.certificate.profile;
  if (profile !== undefined) {
    const offered = Object.keys(directory.meta?.profiles ?? {});
    if (!offered.includes(profile)) {
      throw new PluginConfigError(subject, `has no certificate profile '${profile}' (it offers ${offered.length ? offered.join(', ') : 'none'})`);
    }
    request.profile = profile;
  }
  const replaces = directory.renewalInfo ? await replacedCertificate(blueprint, oc.ctx) : undefined;
  const created = await createOrder(client, request, replaces);

  const authorizations = (await client.getAuthorizations(created)).filter((a) => a.status !== 'valid');
  const dnsConfigured = Boolean(blueprint.certificate.dns ?? oc.spec.dns);
  const preferDns = oc.settings.challenge === 'dns-01' || (oc.settings.challenge === undefined && dnsConfigured);
  const opened = preferDns || authorizations.some((a) => a.wildcard) ? await openDns(blueprint, oc) : null;
  const dns = opened && trackDns ? await trackDns(opened) : opened;
  const cleanups: (() => Promise<unknown>)[] = [];
  try {
    const answered: { challenge: acme.Authorization['challenges'][number]; domain: string }[] = [];
    for (const authz of authorizations) {
      const domain = `${authz.wildcard ? '*.' : ''}${authz.identifier.value}`;
      const type: ChallengeType = authz.wildcard || preferDns ? 'dns-01' : 'http-01';
      const challenge = authz.challenges.find((c) => c.type === type);
      if (!challenge) throw new PluginConfigError(subject, `offers no ${type} challenge for ${domain}`);
      const keyAuthorization = await client.getChallengeKeyAuthorization(challenge);
      if (type === 'dns-01' && dns) {
        const fqdn = `_acme-challenge.${authz.identifier.value}`;
        cleanups.push(() => dns.cleanup(fqdn, keyAuthorization));
        await dns.present(fqdn, keyAuthorization);
      } else {
        const token = (challenge as { token: string }).token;
        assertChallengeToken(token, subject);
        // A proxy in front of the real servers (Incapsula) serves no files: the servers behind it answer.
        const serving = servers.filter(servesHttp01);
        if (serving.length === 0) {
          const none = servers.length
            ? `: ${servers.map((s) => s.describe()).join(', ')} place(s) no challenge files (add a server with acme_dir, or use dns-01)`
            : '';
          throw new PluginConfigError(subject, `HTTP-01 for ${domain} needs a server to serve the challenge${none}`);
        }
        // Registered before placing: a failure halfway through still removes what was placed.
        cleanups.push(() => Promise.allSettled(serving.map((s) => s.removeChallenge(token))));
        await Promise.all(serving.map((s) => s.putChallenge(token, keyAuthorization)));
      }
      answered.push({ challenge, domain });
    }
    await Promise.all(answered.map(({ challenge }) => client.completeChallenge(challenge)));
    await Promise.all(answered.map(({ challenge, domain }) => validated(client, challenge, `${challenge.type} validation of ${domain}`, subject)));

    const finalized = await client.finalizeOrder(created, csr);
    const done = finalized.status === 'valid' ? finalized : await validated(client, finalized, 'order', subject);
    const [leaf, ...chain] = splitPemCertificates(await client.getCertificate(done));
    if (!leaf) throw new PluginIoError(subject, 'returned no certificate for a valid order', undefined);
    return { certificate: leaf, chain };
  } finally {
    await Promise.allSettled(cleanups.map((cleanup) => cleanup()));
    await dns?.close();
  }
}

/** A renewal names the certificate it replaces; a CA that refuses the hint still gets the order. */
async function createOrder(client: acme.Client, request: OrderRequest, replaces: string | undefined): Promise<acme.Order> {
  if (replaces === undefined) return client.createOrder(request);
  try {
    const renewal: OrderRequest = { ...request, replaces };
    return await client.createOrder(renewal);
  } catch (err) {
    if (!(err instanceof AcmeProblem) || err.rateLimited || err.serverFault) throw err;
    return client.createOrder(request);
  }
}

async function replacedCertificate(blueprint: Blueprint, ctx: PluginContext): Promise<string | undefined> {
  if (!blueprint.storage) return undefined;
  const storage = await ctx.openStorage(blueprint.storage);
  try {
    const stored = await storage.get(blueprint.name, 'crt');
    return stored === null ? undefined : ariCertId(stored);
  } catch {
    // An unreadable stored certificate is no reason to refuse a renewal, which is what would repair it.
    return undefined;
  } finally {
    await storage.close();
  }
}

async function openDns(blueprint: Blueprint, oc: OrderContext): Promise<DnsProvider> {
  const provider = await openDnsProvider(blueprint, oc.spec, oc.ctx);
  if (provider) return provider;
  const why =
    oc.settings.challenge === 'dns-01'
      ? "'challenge: dns-01' is set"
      : `${blueprint.certificate.domains.filter((d) => d.startsWith('*.')).join(', ')} can only be validated with DNS-01 (HTTP-01 cannot prove a wildcard)`;
  throw new PluginConfigError(oc.subject, `${why}, but neither the certificate nor the CA has a 'dns' section naming a DNS provider`);
}

/** Waits for a challenge or order to become valid; a CA's refusal names what was refused and why. */
async function validated<T extends { url?: string }>(client: acme.Client, item: T, what: string, subject: string): Promise<T> {
  try {
    return await client.waitForValidStatus(item);
  } catch (err) {
    if (err instanceof AcmeProblem || err instanceof AcmeUnreachable) throw err;
    const message = messageOf(err);
    if (message === 'Operation is pending or processing') {
      throw new PluginIoError(subject, `${what} still pending after a minute of polling`, undefined, { cause: err });
    }
    // The CA decided (the token was not served, the DNS record not seen): a new order is for the next cycle.
    throw new PluginConfigError(subject, `${what} failed: ${message}`, { cause: err, reasonCode: 'validation-failed' });
  }
}

/** Retryable or not, the way the lifecycle workflow's retry policy reads it. */
function classify(err: unknown, subject: string): unknown {
  if (err instanceof PluginError) return err;
  if (err instanceof AcmeUnreachable) return new PluginIoError(subject, err.message, err.code, { cause: err, reasonCode: err.reasonCode });
  if (err instanceof AcmeProblem) {
    if (err.rateLimited) return new RateLimitedError(subject, `rate limited: ${err.detail}`, err.retryAfterMs, { cause: err });
    if (err.serverFault) return new PluginIoError(subject, `server error ${err.message}`, undefined, { cause: err, reasonCode: err.reasonCode });
    return new PluginConfigError(subject, `refused the request: ${err.message}`, { cause: err, reasonCode: err.reasonCode });
  }
  // acme-client's own errors (a bad nonce once too often, an unexpected answer): worth another attempt.
  return new PluginIoError(subject, messageOf(err), undefined, { cause: err });
}

async function readSettings(spec: AcmeSpec, ctx: PluginContext, subject: string): Promise<AcmeSettings> {
  const p = spec.parameters;
  const which = ctx.staging ? 'staging' : 'production';
  const written = spec.acmeApi?.[which];
  if (!written) throw new PluginConfigError(subject, `has no acme_api.${which} directory URL`);
  let url: URL;
  try {
    url = new URL(written);
  } catch {
    throw new PluginConfigError(subject, `acme_api.${which} is not a URL`);
  }
  if (url.protocol !== 'https:') throw new PluginConfigError(subject, `acme_api.${which} must be an https:// URL (RFC 8555)`);

  const bundlePath = p.ca_bundle;
  let caBundle: string | undefined;
  if (bundlePath !== undefined) {
    try {
      caBundle = await readFile(bundlePath, 'utf8');
    } catch (err) {
      throw new PluginConfigError(subject, `cannot read ca_bundle ${bundlePath}`, { cause: err });
    }
    if (splitPemCertificates(caBundle).length === 0) throw new PluginConfigError(subject, `ca_bundle ${bundlePath} holds no PEM certificate`);
  }

  const challenge = p.challenge as ChallengeType | undefined;
  const eab = p.eab_credentials;
  const accountKeyName = spec.storage?.name;
  if (!accountKeyName) throw new PluginConfigError(subject, 'needs storage.name: the name of the ACME account key in the CA storage');
  return {
    api: url.href,
    stage: which,
    ...(caBundle !== undefined && { caBundle }),
    ...(spec.contactEmail && { contactEmail: spec.contactEmail }),
    accountKeyName,
    ...(eab !== undefined && { eabCredentials: eab }),
    ...(challenge !== undefined && { challenge }),
  };
}
