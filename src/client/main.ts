// Entry point of the `autossl` command.
import { commandUsage, EXIT, parse, usage, UsageError, type CommandSpec } from './cli';
import { makeContext, type Context, type Output } from './context';
import * as check from './commands/check';
import * as deploy from './commands/deploy';
import * as history from './commands/history';
import * as renew from './commands/renew';
import * as server from './commands/server';
import * as status from './commands/status';
import * as submit from './commands/submit';
import * as version from './commands/version';
import * as worker from './commands/worker';

interface Command {
  spec: CommandSpec;
  run(ctx: Context): Promise<number>;
}

const COMMANDS: Command[] = [version, check, renew, deploy, submit, status, history, worker, server];
const SPECS = COMMANDS.map((c) => c.spec);

const stdio: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Errors whose message is the whole story for the user: exit 2, no stack trace. */
const INPUT_ERRORS = new Set(['UsageError', 'BlueprintError', 'CredentialError', 'CertificateRejected', 'CertificateError', 'KeyError', 'PluginConfigError']);

export async function main(argv: string[], io: Output = stdio): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    const parsed = parse(argv, SPECS);
    debug = parsed.values.debug === true;
    const command = COMMANDS.find((c) => c.spec.name === parsed.action);
    if (parsed.values.help || !command) {
      io.out(command ? commandUsage(command.spec) : usage(SPECS));
      return parsed.values.help ? EXIT.ok : EXIT.usage;
    }
    return await command.run(makeContext(parsed.values, io));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    io.err(`autossl: ${e.message}`);
    if (debug && e.stack) io.err(e.stack);
    if (INPUT_ERRORS.has(e.name) || err instanceof UsageError) return EXIT.usage;
    if (e.name === 'TemporalUnavailable') return EXIT.usage;
    return EXIT.internal;
  }
}
