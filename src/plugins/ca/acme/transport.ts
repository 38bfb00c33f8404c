// How the ACME plugin talks HTTP. acme-client sends everything through one shared axios instance (its documented
// extension point, `acme.axios`). Two of its habits do not fit a durable workflow: it retries 429 and 5xx answers
// in-process (sleeping out a Retry-After that may be hours while an activity slot is held), and once its retries
// are spent it loses the transport error. So, inside `withAcmeTransport` only (other users of acme-client in
// this process are untouched), requests get the CA's own trust anchors and a timeout, and every failure
// acme-client cannot handle itself becomes a typed error before its retry interceptor sees it: Temporal retries,
// with durable timers, instead.
import { AsyncLocalStorage } from 'node:async_hooks';
import https from 'node:https';
import { createRequire } from 'node:module';
import * as acme from 'acme-client';
import type { AxiosAdapter, AxiosError, InternalAxiosRequestConfig } from 'axios';
import { ClassifiedError } from '../../../errors';
import { errnoCode } from '../../errors';

/** A problem document (RFC 7807) or error status from the ACME server that acme-client does not handle itself. */
export class AcmeProblem extends ClassifiedError {
  override readonly name = 'AcmeProblem';

  constructor(
    /** Problem type without the `urn:ietf:params:acme:error:` prefix, or `''` when the body had none. */
    readonly type: string,
    readonly status: number,
    readonly detail: string,
    /** From Retry-After, when the server sent one. */
    readonly retryAfterMs: number | undefined,
  ) {
    super(`${type || `HTTP ${status}`}: ${detail}`);
  }

  get rateLimited(): boolean {
    return this.status === 429 || this.type === 'rateLimited';
  }

  get serverFault(): boolean {
    return this.status >= 500 || this.type === 'serverInternal';
  }

  /** Anything but a rate limit or a server fault is the CA's answer to this very request: asking again gets it again. */
  override get retryable(): boolean {
    return this.rateLimited || this.serverFault;
  }

  override get reasonCode(): string {
    return this.rateLimited ? 'rate-limited' : this.serverFault ? super.reasonCode : 'ca-refused';
  }
}

/** The ACME server could not be reached or did not answer in time. */
export class AcmeUnreachable extends ClassifiedError {
  override readonly name = 'AcmeUnreachable';

  constructor(
    readonly url: string,
    readonly code: string | undefined,
  ) {
    super(`no answer from ${new URL(url).origin}${code ? ` (${code})` : ''}`);
  }
}

interface Scope {
  /** Trusts only the CA bundle given for a private ACME server; absent: the system's trust store. */
  agent?: https.Agent;
  timeoutMs: number;
}

const scope = new AsyncLocalStorage<Scope>();
const PROBLEM_PREFIX = 'urn:ietf:params:acme:error:';
// acme-client recovers from a bad nonce by itself (new nonce, same request): that answer must reach it untouched.
const HANDLED_BY_ACME_CLIENT = new Set(['badNonce']);

// The adapter acme-client's own axios copy would use; required through acme-client so both are the same copy.
const httpAdapter: AxiosAdapter = createRequire(require.resolve('acme-client'))('axios').getAdapter('http');

function retryAfterMs(header: unknown): number | undefined {
  if (typeof header !== 'string' || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function problemOf(body: unknown): { type?: unknown; detail?: unknown } | undefined {
  if (typeof body === 'string') {
    try {
      return problemOf(JSON.parse(body));
    } catch {
      return undefined;
    }
  }
  if (Buffer.isBuffer(body)) return problemOf(body.toString('utf8'));
  return body && typeof body === 'object' ? (body as { type?: unknown; detail?: unknown }) : undefined;
}

/** Errors thrown here carry no `config`, which is what makes acme-client's retry interceptor pass them on. */
const guardedAdapter: AxiosAdapter = async (config) => {
  try {
    return await httpAdapter(config);
  } catch (err) {
    const response = (err as AxiosError).response;
    if (!response) throw new AcmeUnreachable(config.url ?? '', errnoCode(err));
    const problem = problemOf(response.data);
    const type = typeof problem?.type === 'string' && problem.type.startsWith(PROBLEM_PREFIX) ? problem.type.slice(PROBLEM_PREFIX.length) : '';
    const failed = response.status === 429 || response.status >= 500 || (response.status >= 400 && type !== '');
    if (!failed || HANDLED_BY_ACME_CLIENT.has(type)) throw err;
    const detail = typeof problem?.detail === 'string' ? problem.detail : `${config.method?.toUpperCase()} ${new URL(config.url ?? '').pathname}`;
    throw new AcmeProblem(type, response.status, detail.replace(/\s+/g, ' '), retryAfterMs(response.headers['retry-after']));
  }
};

acme.axios.interceptors.request.use((config: InternalAxiosRequestConfig) => {
  const current = scope.getStore();
  if (!current) return config;
  config.adapter = guardedAdapter;
  config.timeout = current.timeoutMs;
  if (current.agent) config.httpsAgent = current.agent;
  return config;
});

export interface TransportOptions {
  /** PEM text of the certificates that sign the ACME server's TLS certificate. */
  caBundle?: string;
  timeoutMs?: number;
}

// One agent per CA bundle for the whole process: concurrent and successive issuances from the same CA share its
// kept-alive connections instead of each paying TLS handshakes (and parsing the bundle) again. Idle sockets close
// after a while, and are unref'd meanwhile, so nothing is held open for long.
const agents = new Map<string, https.Agent>();
const IDLE_SOCKET_MS = 30_000;

function agentFor(caBundle: string): https.Agent {
  let agent = agents.get(caBundle);
  if (!agent) {
    agent = new https.Agent({ ca: caBundle, keepAlive: true, timeout: IDLE_SOCKET_MS });
    agents.set(caBundle, agent);
  }
  return agent;
}

/** A transport configuration for one CA; run ACME calls for that CA through `run`. */
export function acmeTransport(opts: TransportOptions): { run<T>(fn: () => Promise<T>): Promise<T>; close(): void } {
  const agent = opts.caBundle === undefined ? undefined : agentFor(opts.caBundle);
  const settings: Scope = { agent, timeoutMs: opts.timeoutMs ?? 30_000 };
  return {
    run: (fn) => scope.run(settings, fn),
    // The shared agent outlives this transport: its idle sockets time out by themselves.
    close: () => {},
  };
}

/** GET of a plain (unsigned) ACME resource, such as renewal information, through the same transport. */
export async function acmeGet<T>(url: string): Promise<{ data: T; retryAfterMs?: number }> {
  const response = await acme.axios.get<T>(url, { responseType: 'json' });
  return { data: response.data, retryAfterMs: retryAfterMs(response.headers['retry-after']) };
}
