// The only code the lifecycle workflow calls. Every activity is safe to retry, takes the (secret-free) blueprint
// and public PEMs, and resolves credentials and plugins here, on the worker. Private keys go from the activity
// that makes them straight to storage.
import { Context } from '@temporalio/activity';
import { ApplicationFailure, TemporalFailure } from '@temporalio/common';
import type { Blueprint } from '../blueprint/types';
import { classify, type FailureDetails } from '../errors';
import { assertDeployable, certificateFacts, CertificateRejected, splitBundle } from '../inspect/certificate';
import type { CertificateFacts, Inspection, ServerFacts } from '../inspect/facts';
import { inspect, serverFacts } from '../inspect/inspect';
import { PluginConfigError } from '../plugins/errors';
import { findPlugin } from '../catalog';
import { deployPair } from '../plugins/deploy-pair';
import { certificateAuthority, openCa, openServer, openStorage, using, type PluginEnvironment } from '../catalog/open';
import type { ActivityScope, CaPlugin, IssuedCertificate, ServerPlugin, StoragePlugin } from '../plugins/types';
import type { NotifyEvent, TrackEvent } from '../workflows/definitions';
import { createCsr, generatePrivateKey, keyMatchesCertificate, parseCertificate } from '../x509';
import { ChallengeLedger } from './challenge-ledger';
import { sendNotification, writeTrackingLine } from './report';

/**
 * Storage name of the key (and of an automated CA's CSR) of a renewal in progress: the live pair stays untouched
 * until it completes.
 */
export const pendingName = (name: string): string => `${name}.pending`;

async function withStorage<T>(blueprint: Blueprint, env: PluginEnvironment, fn: (s: StoragePlugin) => Promise<T>): Promise<T> {
  const storage = await openStorage(blueprint, env);
  if (!storage) throw new PluginConfigError(`blueprint '${blueprint.name}'`, 'has no storage: renewed keys and certificates need one');
  if (!storage.stores('key') || !storage.stores('crt')) {
    throw new PluginConfigError(`storage of '${blueprint.name}'`, 'must keep keys and certificates (data: key, crt)');
  }
  return using(storage, fn);
}

/**
 * Heartbeats while a long call runs, so a dead worker is noticed (the workflow's heartbeat timeout) and the
 * activity retried elsewhere within seconds. Every heartbeat carries the current `details`: a heartbeat without
 * them would erase what the next attempt needs.
 */
async function heartbeating<T>(details: () => unknown, fn: () => Promise<T>): Promise<T> {
  const context = Context.current();
  const timer = setInterval(() => context.heartbeat(details()), 5_000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The tracking record id: the id of the certificate workflow that scheduled this activity. */
const callerWorkflowId = (): string => Context.current().info.workflowExecution?.workflowId ?? 'unknown';

/** What plugins may use of the activity running now; they get it through their context, never from Temporal. */
function activityScope(): ActivityScope | undefined {
  let context: Context;
  try {
    context = Context.current();
  } catch {
    return undefined;
  }
  return { workflowId: context.info.workflowExecution?.workflowId, cancellation: context.cancellationSignal, log: context.log };
}

/**
 * What Temporal records of a failed activity, from the error's classification (src/errors.ts): its name as the type,
 * its message (never file content), not retryable when a retry cannot fix it, the wait a CA asked for as a durable
 * retry delay instead of a sleeping worker, and the reason code in the details. Failures Temporal made itself
 * (cancellation) pass as they are.
 */
export function toFailure(err: unknown): unknown {
  if (err instanceof TemporalFailure) return err;
  const { retryable, reasonCode, retryAfterMs } = classify(err);
  const error = err instanceof Error ? err : new Error(String(err));
  const details: FailureDetails[] = [{ reasonCode }];
  const failure = ApplicationFailure.create({
    type: error.name,
    message: error.message,
    nonRetryable: !retryable,
    nextRetryDelay: retryAfterMs,
    details,
    cause: error.cause instanceof Error ? error.cause : undefined,
  });
  // Named and placed as the error it stands for: what a log or a caller of the activity outside Temporal reads.
  Object.defineProperty(failure, 'name', { value: error.name, enumerable: true });
  failure.stack = error.stack;
  return failure;
}

/** The activities, each throwing only Temporal failures. */
function failingAsTemporal<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toFailure(err);
      }
    };
  }
  return wrapped as T;
}

export function createActivities(workerEnv: PluginEnvironment) {
  const env: PluginEnvironment = { ...workerEnv, activity: activityScope };
  return failingAsTemporal({
    async inspect(blueprint: Blueprint): Promise<Inspection> {
      return heartbeating(
        () => undefined,
        () => inspect(blueprint, env),
      );
    },

    /**
     * Makes (or, with private_key_reuse, reuses) the key and a CSR, and stores them; says where the CSR is. The key
     * waits as pending. The CSR of a CA that awaits a person (manual) is `<name>.csr`, where one following
     * AutoSSL's manual takes it from; an automated CA's waits as pending too, so a failed order leaves the stored
     * key, CSR and certificate matching each other. `awaitsPerson` tells the workflow which kind it is.
     */
    async prepareRenewal(blueprint: Blueprint): Promise<{ csr: string; csrLocation?: string; awaitsPerson?: boolean }> {
      const awaitsPerson = findPlugin('ca', certificateAuthority(blueprint).type)?.capabilities?.awaitsPerson === true;
      return heartbeating(
        () => undefined,
        () =>
          withStorage(blueprint, env, async (storage) => {
            const cert = blueprint.certificate;
            const reused = cert.privateKeyReuse ? await storage.get(blueprint.name, 'key') : null;
            const keyPem = reused ?? (await generatePrivateKey(cert.key));
            const csr = await createCsr({
              keyPem,
              commonName: cert.commonName,
              domains: cert.domains,
              organization: cert.organization,
              isCa: cert.isCa,
            });
            await storage.put(pendingName(blueprint.name), 'key', keyPem, `${blueprint.name}: new private key`);
            // After the key, so a stored CSR never names a key that storage lacks; a retry stores both anew.
            if (!storage.stores('csr')) return { csr, awaitsPerson };
            const csrName = awaitsPerson ? blueprint.name : pendingName(blueprint.name);
            await storage.put(csrName, 'csr', csr, `${blueprint.name}: CSR of the renewal in progress`);
            return { csr, csrLocation: storage.locate?.(csrName, 'csr') ?? `${blueprint.storage!.type} storage, ${csrName}.csr`, awaitsPerson };
          }),
      );
    },

    async issueCertificate(blueprint: Blueprint, csr: string): Promise<IssuedCertificate> {
      const servers: ServerPlugin[] = [];
      try {
        for (const s of blueprint.servers) servers.push(await openServer(blueprint, s.id, env));
        const context = Context.current();
        const ledger: ChallengeLedger = new ChallengeLedger(() => context.heartbeat(ledger.details()));
        await ledger.removeLeftovers(context.info.heartbeatDetails, servers);
        const issue = (ca: CaPlugin) =>
          heartbeating(
            () => ledger.details(),
            () => ca.issue({ csr, blueprint, servers: ledger.track(servers), trackDns: (p) => ledger.trackDns(p) }),
          );
        const issued = await using(await openCa(blueprint, env), issue);
        // Also in the result (history), and from there in the cycle's record and its notification.
        for (const notice of issued.notices ?? []) context.log.warn(notice, { certificate: blueprint.name });
        return issued;
      } finally {
        await Promise.allSettled(servers.map((s) => s.close()));
      }
    },

    /**
     * Checks a certificate against the pending key (and the blueprint) and makes it the stored pair. Used for
     * CA-issued certificates and for ones a person delivers; a refusal says precisely why.
     */
    async storeCertificate(blueprint: Blueprint, delivered: { bundle: string }): Promise<CertificateFacts> {
      return heartbeating(
        () => undefined,
        () =>
          withStorage(blueprint, env, async (storage) => {
            const pending = pendingName(blueprint.name);
            const keyPem = await storage.get(pending, 'key');
            if (keyPem === null) {
              // A retry after this activity already completed: the delivered certificate is the stored one.
              const storedKey = await storage.get(blueprint.name, 'key');
              const storedCrt = await storage.get(blueprint.name, 'crt');
              const { leaf } = splitBundle(blueprint, delivered.bundle);
              if (storedKey !== null && storedCrt !== null && splitBundle(blueprint, storedCrt).leaf === leaf) {
                return certificateFacts(blueprint, storedCrt, storedKey);
              }
              throw new CertificateRejected(`no renewal of '${blueprint.name}' is in progress (no pending key in storage)`);
            }
            const { leaf, chain, facts } = assertDeployable(blueprint, delivered.bundle, keyPem, Date.now());
            // Key first: a crash between the two writes leaves a mismatch that `inspect` reports and a retry repairs.
            await storage.put(blueprint.name, 'key', keyPem, `${blueprint.name}: private key for ${facts.serial}`);
            const csr = await storage.get(pending, 'csr');
            if (csr !== null && storage.stores('csr')) await storage.put(blueprint.name, 'csr', csr, `${blueprint.name}: CSR for ${facts.serial}`);
            await storage.put(blueprint.name, 'crt', [leaf, ...chain].join(''), `${blueprint.name}: certificate ${facts.serial}`);
            // The pending key is live now; a second copy of a private key is one too many.
            await storage.remove(pending, 'key', `${blueprint.name}: renewal ${facts.serial} complete`);
            if (csr !== null) await storage.remove(pending, 'csr', `${blueprint.name}: renewal ${facts.serial} complete`);
            return facts;
          }),
      );
    },

    /**
     * Deploys the stored pair to one server, provided storage still holds certificate `serial`, and reads back
     * what the server holds now: the workflow's verification, without inspecting every server again.
     */
    async deployToServer(blueprint: Blueprint, serverId: string, serial: string): Promise<ServerFacts> {
      const pair = await withStorage(blueprint, env, async (storage) => ({
        key: await storage.get(blueprint.name, 'key'),
        crt: await storage.get(blueprint.name, 'crt'),
      }));
      if (pair.key === null || pair.crt === null) throw new CertificateRejected(`storage holds no certificate/key pair for '${blueprint.name}'`);
      const { leaf, chain } = splitBundle(blueprint, pair.crt);
      const storedSerial = parseCertificate(leaf).serial;
      if (storedSerial !== serial) {
        throw new CertificateRejected(`stored certificate changed (${storedSerial}, expected ${serial}); the next cycle deploys it`);
      }
      if (!keyMatchesCertificate(pair.key, leaf))
        throw new CertificateRejected(`stored key and certificate ${serial} of '${blueprint.name}' do not match`);
      const deploy = async (server: ServerPlugin) => {
        await heartbeating(
          () => undefined,
          () => server.deploy(deployPair({ key: pair.key!, certificate: leaf, chain })),
        );
        return serverFacts(blueprint, serverId, server);
      };
      return using(await openServer(blueprint, serverId, env), deploy);
    },

    /** One step of the blueprint's tracking record (`tracking:`), for those who consume AutoSSL's record. */
    async track(blueprint: Blueprint, event: TrackEvent): Promise<void> {
      await writeTrackingLine(blueprint, event, callerWorkflowId(), env);
    },

    /** Tells the blueprint's `notify` channels about an event they asked for. */
    async notify(blueprint: Blueprint, event: NotifyEvent): Promise<void> {
      await sendNotification(blueprint, event, callerWorkflowId());
    },
  });
}
