// `autossl check`: the truth about every certificate, read straight from storage and servers. Changes nothing and
// needs no Temporal server, so it is safe in cron and CI.
import type { Blueprint } from '../../blueprint/types';
import type { CertificateFacts, Inspection } from '../../inspect/facts';
import { inspect } from '../../inspect/inspect';
import type { PluginEnvironment } from '../../plugins/open';
import { daysLeft } from '../../x509';
import { decide, type Decision } from '../../workflows/decide';
import { EXIT, type CommandSpec } from '../cli';
import { loadFromOptions, pluginEnvironment, type Context } from '../context';
import { mapLimit, table } from '../format';

export const spec: CommandSpec = {
  name: 'check',
  summary: 'Report every certificate: stored and deployed, expiry, coverage, key match, chain, verdict.',
  description: [
    'Reads the stored certificate and the certificate on every server of each blueprint and says whether it is',
    'up to date, needs renewal (and why) or which servers are out of date (and why). Changes nothing; needs no',
    'Temporal server. Exit 0 when everything is up to date, 1 when something needs action, 2 on bad input.',
  ].join('\n'),
  options: {
    json: { type: 'boolean', help: 'Print one JSON document instead of a table.' },
  },
};

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
    certificate: (CertificateFacts & { daysLeft: number }) | null;
    error?: string;
  }[];
  error?: string;
}

function verdictOf(decision: Decision): Verdict {
  if (decision.renew) return 'renewal-needed';
  return decision.servers.every((s) => s.upToDate) ? 'up-to-date' : 'servers-out-of-date';
}

function withDays(facts: CertificateFacts | null, now: Date) {
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
    const error = err instanceof Error ? err.message : String(err);
    return { name: blueprint.name, file: blueprint.source.blueprint, verdict: 'error', renewReasons: [], renewAt: null, stored: null, servers: [], error };
  }
}

const yesNo = (v: boolean | null) => (v === null ? '-' : v ? 'yes' : 'NO');

function certCells(c: BlueprintReport['stored']): string[] {
  if (!c) return ['-', '-', '-', '-', '-'];
  return [c.notAfter.slice(0, 10), String(c.daysLeft), c.coverage.ok ? 'yes' : 'NO', yesNo(c.keyMatches), c.chain ? yesNo(c.chain.ok) : '-'];
}

function render(reports: BlueprintReport[]): string {
  const blocks = reports.map((r) => {
    const head = `${r.name} (${r.file}): ${r.verdict}${r.error ? ` - ${r.error}` : ''}`;
    if (r.error) return head;
    const rows = [
      ['stored', ...certCells(r.stored), r.renewReasons.join('; ') || `renew at ${r.renewAt?.slice(0, 10) ?? '-'}`],
      ...r.servers.map((s) => [s.label, ...certCells(s.certificate), s.upToDate ? 'up to date' : s.reasons.join('; ')]),
    ];
    return `${head}\n${table(['where', 'expires', 'days', 'covers', 'key', 'chain', 'verdict'], rows, '  ')}`;
  });
  const needs = reports.filter((r) => r.verdict !== 'up-to-date').length;
  blocks.push(`${reports.length} certificate(s): ${reports.length - needs} up to date, ${needs} need action.`);
  return blocks.join('\n\n');
}

export async function run(ctx: Context): Promise<number> {
  const blueprints = await loadFromOptions(ctx);
  const now = new Date();
  const env = pluginEnvironment(ctx, true);
  const reports = await mapLimit(blueprints, 16, (b) => checkOne(env, b, now));
  if (ctx.values.json) {
    const needAction = reports.filter((r) => r.verdict !== 'up-to-date').length;
    ctx.io.out(JSON.stringify({ checkedAt: now.toISOString(), certificates: reports, summary: { total: reports.length, needAction } }, null, 2));
  } else {
    ctx.io.out(render(reports));
  }
  return reports.every((r) => r.verdict === 'up-to-date') ? EXIT.ok : EXIT.action;
}
