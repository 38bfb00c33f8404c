// Markdown shown as the workflow's "current details" in the Temporal Web UI.
import type { LifecycleStatus } from './definitions';

export function renderDetails(status: LifecycleStatus): string {
  const lines = [
    `**${status.name}**: ${status.state}. ${status.reason}`,
    '',
    status.stored
      ? `Stored certificate ${status.stored.serial}, valid until ${status.stored.notAfter}; renewal at ${status.renewAt ?? '-'}.`
      : 'No stored certificate.',
    status.nextWakeAt ? `Next wake-up ${status.nextWakeAt} (${status.nextWakeReason}).` : '',
    '',
    '| server | state | detail |',
    '| --- | --- | --- |',
    ...status.servers.map((s) => `| ${s.label} | ${s.state} | ${(s.lastError ?? s.reasons.join('; ')).replace(/\|/g, '\\|') || '-'} |`),
  ];
  return lines.join('\n');
}
