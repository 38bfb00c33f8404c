// The small interfaces every server, storage and certificate authority implements. Plugins run only on the
// worker or in the CLI, never inside a workflow.
import type { DnsProvider } from './dns';
import type { ArtifactKind, Blueprint, CertificateAuthoritySpec, PluginSpec, ServerSpec } from '../blueprint/types';
import type { CredentialResolver } from '../blueprint/credentials';

/** A certificate and key as deployed: PEM text. The key never leaves the worker. */
export interface DeployedPair {
  /** Leaf first, then the chain when the server holds the full chain. */
  certificate: string;
  key: string;
}

export interface ServerPlugin {
  readonly spec: ServerSpec;
  /** One line a person recognises: `local:/etc/ssl/site`, `ssh:deploy@web-1:22:/etc/ssl`. */
  describe(): string;
  /** The pair currently deployed, `null` when the server holds no certificate. Missing key file → `key: null`. */
  readCurrent(): Promise<{ certificate: string; key: string | null } | null>;
  /** Writes key and certificate atomically; on failure the previous pair stays in place. */
  deploy(pair: { key: string; certificate: string; chain: string[] }): Promise<void>;
  /** HTTP-01: serve `content` at `/.well-known/acme-challenge/<token>` (the server's `acme_dir`). */
  putChallenge(token: string, content: string): Promise<void>;
  removeChallenge(token: string): Promise<void>;
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
  /** False for a CA a person deals with (manual): the renewal stops after the key and CSR are made. */
  readonly automated: boolean;
  issue(request: IssueRequest): Promise<IssuedCertificate>;
  close(): Promise<void>;
}

/** What a factory gets besides its own spec. */
export interface PluginContext {
  blueprint: Blueprint;
  credentials: CredentialResolver;
  /** Use the CA's staging endpoint. */
  staging: boolean;
  /** Opens a storage plugin from a spec (CA storage, for instance). */
  openStorage(spec: PluginSpec & { data?: ArtifactKind[] }): Promise<StoragePlugin>;
}

export type ServerFactory = (spec: ServerSpec, ctx: PluginContext) => ServerPlugin | Promise<ServerPlugin>;
export type StorageFactory = (spec: PluginSpec & { data?: ArtifactKind[] }, ctx: PluginContext) => StoragePlugin | Promise<StoragePlugin>;
export type CaFactory = (spec: CertificateAuthoritySpec, ctx: PluginContext) => CaPlugin | Promise<CaPlugin>;
