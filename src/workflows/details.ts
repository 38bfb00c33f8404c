// Markdown shown as the workflow's "current details" in the Temporal Web UI: what a person opening the workflow
// wants first (state and why, the certificate, what is awaited, each server), before reading the history.
import type { LifecycleStatus } from './definitions';

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ') || '-';

export function renderDetails(status: LifecycleStatus): string {
  const cycle = status.lastCycle;
  const lines = [
    `**${status.name}**: ${status.state}. ${status.reason}`,
    '',
    `Domains: ${status.domains.join(', ')}`,
    status.stored
      ? `Stored certificate ${status.stored.serial}, valid until ${status.stored.notAfter}; renewal at ${status.renewAt ?? '-'}.`
      : 'No stored certificate.',
    status.awaitingSince
      ? `Awaiting the CA's certificate since ${status.awaitingSince}: the CSR is ${status.pendingCsrLocation ? `at \`${status.pendingCsrLocation}\` and ` : ''}in \`autossl status --json\`; deliver with \`autossl deploy -c\` or \`autossl submit\`.`
      : null,
    cycle?.finishedAt ? `Last cycle ${cycle.number}: ${cycle.outcome}${cycle.renewed ? ', renewed' : ''}, finished ${cycle.finishedAt}.` : null,
    status.nextWakeAt ? `Next wake-up ${status.nextWakeAt} (${status.nextWakeReason}).` : null,
    '',
    '| server | state | last deployed | detail |',
    '| --- | --- | --- | --- |',
    ...status.servers.map(
      (s) =>
        `| ${cell(s.label)} | ${s.state} | ${cell(s.lastDeployedSerial ? `${s.lastDeployedSerial} at ${s.lastDeployedAt}` : '')} | ${cell(s.lastError ?? s.reasons.join('; '))} |`,
    ),
  ];
  return lines.filter((line) => line !== null).join('\n');
}
