// What `check` says about one blueprint: the inspection judged by the same decision the lifecycle workflow makes.
import type { Blueprint } from '../blueprint/types';
import { mapLimit } from '../client/format';
import { messageOf } from '../plugins/errors';
import type { PluginEnvironment } from '../catalog/open';
import { decide, type Decision } from '../workflows/decide';
import { daysLeft } from '../x509';
import type { CertificateFacts, Inspection, ServerCertificateFacts } from './facts';
import { inspect } from './inspect';

export type Verdict = 'up-to-date' | 'renewal-needed' | 'servers-out-of-date' | 'error';

export interface BlueprintReport {
  name: string;
  file: string;
  verdict: Verdict;
  renewReasons: string[];
  renewAt: string | null;
  stored: (CertificateFacts & { daysLeft: number }) | null;
  storedError?: string;
  servers: {
    id: string;
    label: string;
    upToDate: boolean;
    reasons: string[];
    certificate: (ServerCertificateFacts & { daysLeft: number }) | null;
    error?: string;
  }[];
  error?: string;
}

function verdictOf(decision: Decision): Verdict {
  if (decision.renew) return 'renewal-needed';
  return decision.servers.every((s) => s.upToDate) ? 'up-to-date' : 'servers-out-of-date';
}

function withDays<F extends ServerCertificateFacts>(facts: F | null, now: Date) {
  return facts ? { ...facts, daysLeft: daysLeft(facts.notAfter, now) } : null;
}

export function report(blueprint: Blueprint, inspection: Inspection, now: Date): BlueprintReport {
  const decision = decide(inspection, { renewalDelayDays: blueprint.certificate.renewalDelayDays, now: now.getTime() });
  return {
    name: blueprint.name,
    file: blueprint.source.blueprint,
    verdict: verdictOf(decision),
    renewReasons: decision.renewReasons,
    renewAt: decision.renewAt,
    stored: withDays(inspection.stored, now),
    ...(inspection.storedError ? { storedError: inspection.storedError } : {}),
    servers: inspection.servers.map((s, i) => ({
      id: s.id,
      label: s.label,
      upToDate: decision.servers[i].upToDate,
      reasons: decision.servers[i].reasons,
      certificate: withDays(s.certificate, now),
      ...(s.error ? { error: s.error } : {}),
    })),
  };
}

async function checkOne(env: PluginEnvironment, blueprint: Blueprint, now: Date): Promise<BlueprintReport> {
  try {
    return report(blueprint, await inspect(blueprint, env, now), now);
  } catch (err) {
    const error = messageOf(err);
    return {
      name: blueprint.name,
      file: blueprint.source.blueprint,
      verdict: 'error',
      renewReasons: [],
      renewAt: null,
      stored: null,
      servers: [],
      error,
    };
  }
}

// Servers answer in parallel; a few dozen blueprints at once keep local disks and remote hosts busy, not flooded.
const CONCURRENCY = 16;

/** Reports in the order of `blueprints`; a blueprint that cannot be inspected gets an `error` report. */
export function checkBlueprints(env: PluginEnvironment, blueprints: readonly Blueprint[], now: Date): Promise<BlueprintReport[]> {
  return mapLimit(blueprints, CONCURRENCY, (b) => checkOne(env, b, now));
}
