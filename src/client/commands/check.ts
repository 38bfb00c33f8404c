// `autossl check`: the truth about every certificate, read straight from storage and servers. Changes nothing and
// needs no Temporal server, so it is safe in cron and CI.
import { checkBlueprints, type BlueprintReport } from '../../inspect/report';
import { EXIT, type CommandSpec } from '../cli';
import { loadFromOptions, pluginEnvironment, type Context } from '../context';
import { table } from '../format';

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

const yesNo = (v: boolean | null) => (v === null ? '-' : v ? 'yes' : 'NO');

function certCells(c: BlueprintReport['servers'][number]['certificate']): string[] {
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
  const reports = await checkBlueprints(pluginEnvironment(ctx, true), blueprints, now);
  if (ctx.values.json) {
    const needAction = reports.filter((r) => r.verdict !== 'up-to-date').length;
    ctx.io.out(JSON.stringify({ checkedAt: now.toISOString(), certificates: reports, summary: { total: reports.length, needAction } }, null, 2));
  } else {
    ctx.io.out(render(reports));
  }
  return reports.every((r) => r.verdict === 'up-to-date') ? EXIT.ok : EXIT.action;
}
