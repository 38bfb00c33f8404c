// The lifecycle workflow's public surface: input, signals, update, query and status. Imported by the workflow
// and by the CLI; pure data and Temporal definitions only.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Blueprint, NotifyEventKind } from '../blueprint/types';
import type { CertificateFacts } from '../inspect/facts';

export const TASK_QUEUE = 'autossl';
export const workflowIdFor = (name: string): string => `cert:${name}`;

export type CertificateState =
  'Initializing' | 'Inspecting' | 'Renewing' | 'AwaitingCertificate' | 'Deploying' | 'Ready' | 'Degraded' | 'RenewalFailed';

/** Something a person asked for; its id lets the CLI find the cycle that served it. */
export interface CycleRequest {
  id: string;
  /** Renew even when the stored certificate is still good. */
  force?: boolean;
  /** Deploy to every server, not only those out of date. */
  allServers?: boolean;
}

export interface LifecycleSettings {
  /** How often servers are re-inspected for drift (a lost or replaced certificate), ms. */
  checkIntervalMs: number;
  /** Time between reminders while a manual CA's certificate is awaited, ms; else the blueprint's `notify` says. */
  reminderIntervalMs?: number;
}

export const DEFAULT_SETTINGS: LifecycleSettings = {
  checkIntervalMs: 60 * 60 * 1000,
};

export interface ServerStatus {
  id: string;
  label: string;
  state: 'ok' | 'out-of-date' | 'failed' | 'unknown';
  reasons: string[];
  /** Expiry of the certificate the server held at the last inspection (ISO); absent when it held none or was not read. */
  notAfter?: string;
  lastError?: string;
  lastDeployedAt?: string;
  lastDeployedSerial?: string;
  /** Consecutive failed deploys; drives the retry backoff between cycles. */
  failures: number;
}

export interface CycleReport {
  number: number;
  startedAt: string;
  finishedAt?: string;
  requestIds: string[];
  renewed: boolean;
  renewReasons: string[];
  deployed: string[];
  failed: { id: string; label: string; error: string; reasonCode?: string }[];
  outcome?: 'ok' | 'partial' | 'failed';
  error?: string;
  /** The step whose failure failed the cycle, with `error`. */
  failure?: FailedStep;
  /** What the CA did besides issuing that a person must know of (a new ACME account key or account). */
  notices?: string[];
}

/** A step that failed (the activity, and the server for a deploy) and its reason code (src/errors.ts). */
export interface FailedStep {
  step: string;
  reasonCode: string;
}

/** A failed server in one line; plugin errors usually start with the server's label already. */
export const serverFailure = (f: CycleReport['failed'][number]): string => (f.error.startsWith(f.label) ? f.error : `${f.label}: ${f.error}`);

export interface LifecycleStatus {
  name: string;
  state: CertificateState;
  /** One line saying why the state is what it is. */
  reason: string;
  domains: string[];
  stored: CertificateFacts | null;
  renewAt: string | null;
  servers: ServerStatus[];
  nextWakeAt: string | null;
  nextWakeReason: string;
  lastCycle: CycleReport | null;
  cycles: number;
  /** Failed renewals in a row, for backoff. */
  renewalFailures: number;
  /** While a manual CA's certificate is awaited: the CSR to send to the CA. */
  pendingCsr?: string;
  /** ... and where storage keeps it (`local:/var/lib/autossl/www.example.test.csr`); absent when it keeps no CSR. */
  pendingCsrLocation?: string;
  /** While a manual CA's certificate is awaited: since when (ISO). */
  awaitingSince?: string;
  /** Last `expiring` notification (ISO): repeated once per reminder interval, not every cycle. */
  expiringNotifiedAt?: string;
  /** Last `failure` notification: when, and what it said. The same failure is repeated once per reminder interval. */
  failureNotified?: { at: string; reason: string; key?: string };
}

/** A step of the tracking record, as written to the tracking log. */
export type TrackStep =
  | 'renewal-requested'
  | 'csr-created'
  | 'awaiting-certificate'
  | 'reminder'
  | 'certificate-received'
  | 'deployed'
  | 'deploy-failed'
  | 'failed'
  | 'closed';

export interface TrackEvent {
  step: TrackStep;
  message: string;
  /** When it happened, by the workflow's clock (ISO). */
  at: string;
  /** Public artifacts, written with the line when the tracking `data:` list names them. */
  csr?: string;
  certificate?: string;
}

/** What a notification says; the activity adds the certificate name and the workflow id. */
export interface NotifyEvent {
  event: NotifyEventKind;
  state: CertificateState;
  reason: string;
  serial?: string;
  notAfter?: string;
  /** While a manual CA's certificate is awaited: where storage keeps the CSR. */
  csrLocation?: string;
  servers: { id: string; label: string; state: ServerStatus['state']; error?: string }[];
  /** In a `failure` event: the steps that failed and why, as reason codes. */
  failed?: FailedStep[];
  at: string;
}

export interface LifecycleInput {
  blueprint: Blueprint;
  settings?: Partial<LifecycleSettings>;
  /** State carried over continue-as-new; absent on the first run. */
  status?: LifecycleStatus;
  /** Requests received but not served yet. */
  requests?: CycleRequest[];
}

export interface SubmitResult {
  serial: string;
  notAfter: string;
  domains: string[];
}

/** Run a cycle now (renew when due or forced, deploy where needed); may carry an updated blueprint. */
export const renewSignal = defineSignal<[CycleRequest & { blueprint?: Blueprint }]>('renew');
/** The blueprint changed: inspect again with the new one. */
export const blueprintSignal = defineSignal<[Blueprint]>('blueprint');
/** A person delivers the certificate a manual CA issued. */
export const submitUpdate = defineUpdate<SubmitResult, [{ certificate: string }]>('submitCertificate');
export const statusQuery = defineQuery<LifecycleStatus>('status');
