// An Incapsula (Imperva Cloud WAF) site: the certificate the proxy presents to visitors, uploaded with Imperva's
// v1 API (form-encoded POSTs, credentials in the x-API-Id / x-API-Key headers, a JSON answer whose `res` is 0 on
// success). The API never hands the certificate back: the site status reports the site's domain and the custom
// certificate's expiry, and that is all inspection learns (key match and chain stay unknown). The site serves no
// files, so it has no HTTP-01 capability: the origin servers behind it answer challenges, or DNS-01 does.
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerSpec } from '../../../blueprint/types';
import { joinPem, splitPemCertificates } from '../../../x509';
import { PluginConfigError, PluginError, PluginIoError, errnoCode } from '../../errors';
import { parameters, type IncapsulaParameters } from './spec';
import type { CurrentCertificate, DeployPair, PluginContext, ReportedCertificate, ServerFactory, ServerPlugin } from '../../types';

export const createIncapsulaSite: ServerFactory<IncapsulaParameters> = async (spec, ctx) => {
  const settings = await readSettings(spec);
  return new IncapsulaSite(spec, ctx, settings);
};

export const STATUS_PATH = '/api/prov/v1/sites/status';
export const UPLOAD_PATH = '/api/prov/v1/sites/customCertificate/upload';

/** Attempts per request. Imperva often answers 3015 ("internal error") and a second or third try goes through. */
const ATTEMPTS = 4;
const FIRST_BACKOFF_MS = 500;
const REQUEST_TIMEOUT_MS = 30_000;
/** Longer answers are not Imperva's (a site status is a few kilobytes). */
const MAX_ANSWER_BYTES = 1 << 20;

/** `res` codes worth another try: internal error, operation timed out or server unavailable. */
const TRANSIENT = new Set([3015, 4]);
/** `res` codes only a change of blueprint, credentials or account fixes, with what a person should check. */
const REFUSED: Record<number, string> = {
  2: 'invalid input',
  9403: 'unknown or unauthorized account',
  9411: 'authentication missing or invalid: check the api_id and api_key of the credentials',
  9413: 'unknown or unauthorized site_id',
  9414: 'feature not permitted for this account',
  9415: 'operation not allowed',
};

/** TLS failures: the endpoint is not who the blueprint says, or its CA is not trusted. Retrying cannot help. */
const TLS_PROBLEMS = /^(?:ERR_TLS_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/;

interface Settings {
  siteId: number;
  base: URL;
  agent?: https.Agent;
}

interface Credentials {
  api_id: string;
  api_key: string;
}

async function readSettings(spec: ServerSpec & { parameters: IncapsulaParameters }): Promise<Settings> {
  const p = spec.parameters;
  const subject = `incapsula:site ${p.site_id}`;
  const bad = (detail: string): never => {
    throw new PluginConfigError(subject, detail);
  };
  const base = new URL(p.base_url.replace(/\/+$/, ''));
  let agent: https.Agent | undefined;
  if (p.ca_bundle !== undefined) {
    let ca: string;
    try {
      ca = await readFile(p.ca_bundle, 'utf8');
    } catch (err) {
      throw new PluginConfigError(subject, `cannot read ca_bundle ${p.ca_bundle} (${errnoCode(err) ?? 'unreadable'})`, { cause: err });
    }
    if (splitPemCertificates(ca).length === 0) bad(`ca_bundle ${p.ca_bundle} holds no PEM certificate`);
    agent = new https.Agent({ ca });
  }
  return { siteId: p.site_id, base, ...(agent && { agent }) };
}

/** The form fields of the status request. */
export function statusForm(siteId: number): Record<string, string> {
  return { site_id: String(siteId) };
}

/**
 * The form fields of the upload: the certificate always with its full chain (Imperva requires leaf, intermediates
 * and root), the key in the traditional OpenSSL form the original tool uploaded, both base64 of the PEM text.
 * Without `auth_type` Imperva takes the certificate as RSA; an EC key says so.
 */
export function uploadForm(siteId: number, pair: { key: string; certificate: string; chain: string[] }): Record<string, string> {
  const key = createPrivateKey(pair.key);
  const ec = key.asymmetricKeyType === 'ec';
  const keyPem = key.export({ format: 'pem', type: ec ? 'sec1' : 'pkcs1' }) as string;
  const bundle = joinPem([pair.certificate, ...pair.chain]);
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return { site_id: String(siteId), certificate: b64(bundle), private_key: b64(keyPem), ...(ec && { auth_type: 'ECC' }) };
}

/**
 * The chain up to its root: a CA's chain usually stops below the root (ACME), which Imperva wants too; the
 * blueprint's chain_of_trust supplies the missing issuers, as the original tool always uploaded it.
 */
export function completeChain(chain: string[], configured: readonly string[]): string[] {
  const complete = [...chain];
  const candidates = configured.map((pem) => ({ pem, cert: new X509Certificate(pem) }));
  // Each pass adds one issuer, so a chain grows by at most the configured certificates.
  for (let pass = 0; pass < candidates.length && complete.length > 0; pass++) {
    const last = new X509Certificate(complete[complete.length - 1]);
    if (issued(last, last)) break;
    const issuer = candidates.find((c) => !complete.includes(c.pem) && issued(last, c.cert));
    if (!issuer) break;
    complete.push(issuer.pem);
  }
  return complete;
}

const issued = (cert: X509Certificate, by: X509Certificate): boolean => cert.checkIssued(by) && cert.verify(by.publicKey);

/** `res` as a number: Imperva sends it as a number or as a numeric string. */
function resultCode(answer: Record<string, unknown>): number | undefined {
  const res = answer.res;
  if (typeof res === 'number') return res;
  if (typeof res === 'string' && /^\d+$/.test(res)) return Number(res);
  return undefined;
}

/** Text from the remote side, made safe for a message: one line, bounded, and no secret even if echoed. */
function remoteText(value: unknown, secrets: readonly string[]): string {
  let text = (typeof value === 'string' ? value : value === undefined ? '' : JSON.stringify(value)).replace(/\s+/g, ' ').trim().slice(0, 300);
  for (const secret of secrets) if (secret) text = text.split(secret).join('***');
  return text;
}

/** What an answer means: `null` for success, else the error to throw and whether another attempt may help. */
export function answerError(
  subject: string,
  what: string,
  answer: Record<string, unknown>,
  secrets: readonly string[] = [],
): { error: PluginError; transient: boolean } | null {
  const res = resultCode(answer);
  if (res === 0) return null;
  const message = remoteText(answer.res_message, secrets);
  const said = message ? `: ${message}` : '';
  if (res === undefined) return { error: new PluginIoError(subject, `${what}: the answer has no result code (res)`, undefined), transient: true };
  if (TRANSIENT.has(res)) return { error: new PluginIoError(subject, `${what} failed with res ${res}${said}`, String(res)), transient: true };
  const hint = Object.hasOwn(REFUSED, res) ? ` (${REFUSED[res]})` : '';
  if (hint) return { error: new PluginConfigError(subject, `${what} refused with res ${res}${said}${hint}`), transient: false };
  // Unknown codes: the activity's bounded retries decide, not a loop here.
  return { error: new PluginIoError(subject, `${what} failed with res ${res}${said}`, String(res)), transient: false };
}

/** The deployed certificate as the site status describes it; `null` when the site has no active custom certificate. */
export function reportedFromStatus(subject: string, answer: Record<string, unknown>): ReportedCertificate | null {
  const ssl = answer.ssl as { custom_certificate?: { active?: unknown; expirationDate?: unknown } } | undefined;
  const custom = ssl?.custom_certificate;
  if (!custom || custom.active !== true) return null;
  const ms = typeof custom.expirationDate === 'string' ? Number(custom.expirationDate) : custom.expirationDate;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new PluginIoError(subject, 'the site status has no ssl.custom_certificate.expirationDate', undefined);
  }
  const domain = answer.domain;
  if (typeof domain !== 'string' || domain.trim() === '') throw new PluginIoError(subject, 'the site status names no domain', undefined);
  return { domains: [domain.trim().toLowerCase()], notAfter: new Date(ms).toISOString() };
}

class IncapsulaSite implements ServerPlugin {
  private readonly subject: string;
  private credentials: Promise<Credentials> | undefined;

  constructor(
    readonly spec: ServerSpec,
    private readonly ctx: PluginContext,
    private readonly settings: Settings,
  ) {
    const via = settings.base.href.replace(/\/$/, '') === parameters.base_url.default ? '' : ` via ${settings.base.host}`;
    this.subject = `incapsula:site ${settings.siteId}${via}`;
  }

  describe(): string {
    return this.subject;
  }

  async readCurrent(): Promise<CurrentCertificate> {
    const answer = await this.call('reading the site status', STATUS_PATH, statusForm(this.settings.siteId));
    const reported = reportedFromStatus(this.subject, answer);
    return reported && { reported };
  }

  async deploy(pair: DeployPair): Promise<void> {
    // The loader gives the certificate its CA's chain of trust when it has none of its own.
    const chain = completeChain(pair.chain, this.ctx.blueprint.certificate.chainOfTrust);
    if (chain.length === 0) {
      throw new PluginConfigError(
        this.subject,
        'Incapsula needs the full chain with the certificate, but no chain of trust is configured or delivered',
      );
    }
    await this.call('uploading the certificate', UPLOAD_PATH, uploadForm(this.settings.siteId, { ...pair, chain }));
  }

  async close(): Promise<void> {
    this.settings.agent?.destroy();
  }

  private resolveCredentials(): Promise<Credentials> {
    this.credentials ??= this.ctx.credentials.resolve(this.spec.credentials!, this.spec.credentialsParameters).then((values) => {
      const { api_id, api_key } = values;
      if (!api_id || !api_key) {
        throw new PluginConfigError(this.subject, `credential '${this.spec.credentials}' lacks api_id or api_key (an ApiKeyAndId credential)`);
      }
      return { api_id, api_key };
    });
    return this.credentials;
  }

  /** POSTs a form, retrying transient answers and connection failures with back-off; returns the successful answer. */
  private async call(what: string, path: string, fields: Record<string, string>): Promise<Record<string, unknown>> {
    const credentials = await this.resolveCredentials();
    const secrets = [credentials.api_key, credentials.api_id];
    for (let attempt = 1; ; attempt++) {
      let failure: { error: PluginError; transient: boolean };
      try {
        const answer = await this.post(what, path, fields, credentials);
        const refused = answerError(this.subject, what, answer, secrets);
        if (!refused) return answer;
        failure = refused;
      } catch (err) {
        if (!(err instanceof PluginIoError)) throw err;
        failure = { error: err, transient: true };
      }
      if (!failure.transient || attempt >= ATTEMPTS) throw failure.error;
      await sleep(FIRST_BACKOFF_MS * 2 ** (attempt - 1));
    }
  }

  private post(what: string, path: string, fields: Record<string, string>, credentials: Credentials): Promise<Record<string, unknown>> {
    const url = new URL(this.settings.base.href.replace(/\/$/, '') + path);
    const body = new URLSearchParams(fields).toString();
    return new Promise((resolve, reject) => {
      const request = https.request(url, {
        method: 'POST',
        ...(this.settings.agent && { agent: this.settings.agent }),
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          'content-length': Buffer.byteLength(body),
          accept: 'application/json',
          'x-API-Id': credentials.api_id,
          'x-API-Key': credentials.api_key,
        },
        timeout: REQUEST_TIMEOUT_MS,
      });
      request.on('timeout', () =>
        request.destroy(Object.assign(new Error(`no answer within ${REQUEST_TIMEOUT_MS / 1000} s`), { code: 'ETIMEDOUT' })),
      );
      request.on('error', (err) => reject(this.connectionError(what, url, err)));
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_ANSWER_BYTES) request.destroy(new Error('answer too long'));
          else chunks.push(chunk);
        });
        response.on('error', (err) => reject(this.connectionError(what, url, err)));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          let answer: unknown;
          try {
            answer = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            answer = undefined;
          }
          if (answer && typeof answer === 'object' && !Array.isArray(answer)) return resolve(answer as Record<string, unknown>);
          const detail = `${what}: HTTP ${status} from ${url.host}${url.pathname} without a JSON answer`;
          // A wrong base_url or path is a 404 forever; an overloaded or restarting API answers 5xx for a while.
          const lasting = status >= 400 && status < 500 && status !== 408 && status !== 429;
          reject(
            lasting ? new PluginConfigError(this.subject, `${detail} (check base_url)`) : new PluginIoError(this.subject, detail, `HTTP ${status}`),
          );
        });
      });
      request.end(body);
    });
  }

  private connectionError(what: string, url: URL, err: Error): PluginError {
    const code = errnoCode(err);
    const detail = `${what}: cannot reach ${url.host} (${code ?? err.message})`;
    if (code && TLS_PROBLEMS.test(code)) {
      return new PluginConfigError(this.subject, `${what}: TLS with ${url.host} failed (${code}); for a private CA give ca_bundle`, { cause: err });
    }
    return new PluginIoError(this.subject, detail, code, { cause: err });
  }
}
