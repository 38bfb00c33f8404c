// The small interfaces every server, storage and certificate authority implements. Plugins run only on the
// worker or in the CLI, never inside a workflow.
import type { DnsProvider, DnsProviderFactory } from './dns';
import type { ParameterMap, ParameterValues, PluginCategory, PluginDescription } from '../blueprint/catalog';
import type { ArtifactKind, Blueprint, CertificateAuthoritySpec, DnsSpec, PluginSpec, ServerSpec } from '../blueprint/types';
import type { CredentialResolver } from '../blueprint/credentials';
import type { RenewalWindow } from '../inspect/facts';

/**
 * What a server that never hands its certificate out (a CDN's API) says about the one it serves: the names it
 * serves and the expiry. Key match and chain are then unknown.
 */
export interface ReportedCertificate {
  domains: string[];
  /** ISO instant. */
  notAfter: string;
}

/**
 * The pair currently deployed (missing key file → `key: null`), or only what the server reports of it, or `null`
 * when the server holds no certificate.
 */
export type CurrentCertificate = { certificate: string; key: string | null } | { reported: ReportedCertificate } | null;

/** What a server deploys, PEM text assembled once before the deploy. The key never leaves the worker. */
export interface DeployPair {
  key: string;
  /** The leaf alone. */
  certificate: string;
  /** Intermediates (and possibly the root) in order. */
  chain: string[];
  /** The leaf then the chain as one file's text, for servers that deploy the full chain (`deploy_full_chain`). */
  fullChain: string;
}

export interface ServerPlugin {
  readonly spec: ServerSpec;
  /** One line a person recognises: `local:/etc/ssl/site`, `ssh:deploy@web-1:22:/etc/ssl`. */
  describe(): string;
  readCurrent(): Promise<CurrentCertificate>;
  /** Writes key and certificate atomically; on failure the previous pair stays in place. */
  deploy(pair: DeployPair): Promise<void>;
  /**
   * HTTP-01: serve `content` at `/.well-known/acme-challenge/<token>` (the server's `acme_dir`). Absent on servers
   * that serve no files (a proxy in front of the real servers); both or neither.
   */
  putChallenge?(token: string, content: string): Promise<void>;
  removeChallenge?(token: string): Promise<void>;
  /** Releases connections. */
  close(): Promise<void>;
}

export interface StoragePlugin {
  /** True when this back end stores artifacts of `kind` (the blueprint's `data:` list). */
  stores(kind: ArtifactKind): boolean;
  /** `<name>.<kind>` content, or `null` when absent. */
  get(name: string, kind: ArtifactKind): Promise<string | null>;
  /** Atomic write; keys are written readable by the owner only. */
  put(name: string, kind: ArtifactKind, content: string, message?: string): Promise<void>;
  /**
   * Stores `<name>.<kind>` only if it is absent, atomically even against other workers; returns what is stored
   * afterwards: `content`, or what another writer stored first.
   */
  create(name: string, kind: ArtifactKind, content: string, message?: string): Promise<string>;
  /** Removes `<name>.<kind>`; nothing happens when it is absent. */
  remove(name: string, kind: ArtifactKind, message?: string): Promise<void>;
  /**
   * Where a person finds `<name>.<kind>`, in one line and without any credential: `local:/var/lib/autossl/x.csr`,
   * `git:https://git.example/certs.git certs/x.csr`. Optional: a storage without it is named by its type.
   */
  locate?(name: string, kind: ArtifactKind): string;
  /**
   * `get` of the file named exactly `file`, nothing appended: how AutoSSL names CA files and account keys
   * (`autossl_ca.key`). `kind` is what the file holds.
   */
  getFile(file: string, kind: ArtifactKind): Promise<string | null>;
  /** `create` of the file named exactly `file`; `kind` is what it holds (a key is readable by the owner only). */
  createFile(file: string, kind: ArtifactKind, content: string, message?: string): Promise<string>;
  close(): Promise<void>;
}

export interface IssueRequest {
  csr: string;
  blueprint: Blueprint;
  /** Servers of the blueprint, for HTTP-01 challenges. */
  servers: ServerPlugin[];
  /** Wraps the DNS provider a CA opens for DNS-01, so the activity can record (and later clean up) its records. */
  trackDns?: (provider: DnsProvider) => Promise<DnsProvider>;
}

export interface IssuedCertificate {
  /** Leaf certificate, PEM. */
  certificate: string;
  /** Intermediates (and possibly the root) in order, PEM each. */
  chain: string[];
  /** What the CA did besides issuing that a person must know of (a new ACME account): logged, recorded, notified. */
  notices?: string[];
}

export interface CaPlugin {
  issue(request: IssueRequest): Promise<IssuedCertificate>;
  close(): Promise<void>;
}

/**
 * What a plugin may use of the Temporal activity it runs in, filled in by the activity layer so that plugins never
 * import Temporal (and `check` never loads it).
 */
export interface ActivityScope {
  /** The certificate workflow the activity runs for. */
  workflowId?: string;
  /** Aborted when the activity is cancelled: it heartbeats, so a cancellation or a lost worker reaches it. */
  cancellation: AbortSignal;
  log: { info(message: string, attributes?: Record<string, unknown>): void };
}

/** What a factory gets besides its own spec. */
export interface PluginContext {
  blueprint: Blueprint;
  credentials: CredentialResolver;
  /** Use the CA's staging endpoint. */
  staging: boolean;
  /** The activity the plugin is called in now; undefined outside one (`check`, the CLI's deploy, tests). */
  activity(): ActivityScope | undefined;
  /** Opens a storage plugin from a spec (CA storage, for instance). */
  openStorage(spec: PluginSpec & { data?: ArtifactKind[] }): Promise<StoragePlugin>;
  /** Opens the DNS provider of a `dns` section, for DNS-01. */
  openDnsProvider(spec: DnsSpec): Promise<DnsProvider>;
}

/** One step of the tracking record, as AutoSSL's LocalFileTracking logs it. Public data only: never a key. */
export interface TrackingEntry {
  time: string;
  workflow_id: string;
  certificate: string;
  step: string;
  message: string;
  /** Attached when the tracking `data:` lists `csr`. */
  csr?: string;
  /** Attached when the tracking `data:` lists `crt`. */
  certificate_pem?: string;
}

export interface TrackingPlugin {
  /** Records one step; the workflow history stays the record of truth, so a failure is logged and the cycle goes on. */
  record(entry: TrackingEntry): Promise<void>;
  close(): Promise<void>;
}

/** Factories receive their parameters checked by the blueprint loader, with the spec's defaults applied: `P`. */
type Params = Record<string, unknown>;
type StorageSpec = PluginSpec & { data?: ArtifactKind[] };
export type ServerFactory<P = Params> = (spec: ServerSpec & { parameters: P }, ctx: PluginContext) => ServerPlugin | Promise<ServerPlugin>;
export type StorageFactory<P = Params> = (spec: StorageSpec & { parameters: P }, ctx: PluginContext) => StoragePlugin | Promise<StoragePlugin>;
export type CaFactory<P = Params> = (spec: CertificateAuthoritySpec & { parameters: P }, ctx: PluginContext) => CaPlugin | Promise<CaPlugin>;
export type TrackingFactory<P = Params> = (spec: StorageSpec & { parameters: P }, ctx: PluginContext) => TrackingPlugin | Promise<TrackingPlugin>;
/** ACME Renewal Information: when the CA wants the certificate renewed; undefined when it offers none. */
export type RenewalInfo = (spec: CertificateAuthoritySpec, ctx: PluginContext, certificatePem: string) => Promise<RenewalWindow | undefined>;

interface Factories<P> {
  server: ServerFactory<P>;
  storage: StorageFactory<P>;
  tracking: TrackingFactory<P>;
  ca: CaFactory<P>;
  dns: DnsProviderFactory<P>;
}

/** What a CA kind can do, so that callers never test its name. */
export interface CaCapabilities {
  /** A person orders and delivers the certificate: the renewal waits for them after the key and CSR are made. */
  awaitsPerson?: boolean;
  /** Loads the CA's renewal-window lookup (ACME ARI), called at every inspection of a stored certificate. */
  renewalInfo?: () => RenewalInfo;
}

/** A plugin's spec (what the loader checks) with its capabilities and the lazy loader of its factory. */
export interface PluginEntry<C extends PluginCategory = PluginCategory> extends PluginDescription {
  category: C;
  capabilities?: CaCapabilities;
  load(): Factories<Params>[C];
}

/**
 * A plugin's spec, in its folder's spec.ts. Typed so that the factory `load` returns takes exactly the parameters
 * the specs declare (`ParameterValues`): what the loader checked is what the plugin reads, nothing by hand.
 */
export function definePlugin<C extends PluginCategory, const P extends ParameterMap>(
  entry: Omit<PluginEntry<C>, 'parameters' | 'load'> & { parameters: P; load(): Factories<ParameterValues<P>>[C] },
): PluginEntry<C> {
  // The loader guarantees the parameters' shape, which the factory's type cannot express at the list's level.
  return entry as unknown as PluginEntry<C>;
}
