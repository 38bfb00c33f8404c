// Entry point of the `autossl` command.
import { classify } from '../errors';
import { commandUsage, EXIT, findAction, parse, usage, type CommandSpec } from './cli';
import { makeContext, type Context, type Output } from './context';

interface Command {
  spec: CommandSpec;
  run(ctx: Context): Promise<number>;
}

// Loaded on demand: `check` must not pay for (or depend on) the Temporal client that other actions load.
const COMMANDS: Record<string, () => Promise<Command>> = {
  version: () => import('./commands/version'),
  plugins: () => import('./commands/plugins'),
  check: () => import('./commands/check'),
  renew: () => import('./commands/renew'),
  deploy: () => import('./commands/deploy'),
  submit: () => import('./commands/submit'),
  status: () => import('./commands/status'),
  history: () => import('./commands/history'),
  worker: () => import('./commands/worker'),
  server: () => import('./commands/server'),
};
const ACTIONS = Object.keys(COMMANDS);

const stdio: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

export async function main(argv: string[], io: Output = stdio): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    const action = findAction(argv, ACTIONS);
    const command = action === undefined ? undefined : await COMMANDS[action]();
    const parsed = parse(argv, command?.spec);
    debug = parsed.values.debug === true;
    if (parsed.values.help || !command) {
      io.out(command ? commandUsage(command.spec) : usage(await Promise.all(ACTIONS.map(async (a) => (await COMMANDS[a]()).spec))));
      return parsed.values.help ? EXIT.ok : EXIT.usage;
    }
    return await command.run(await makeContext(parsed.values, io));
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    io.err(`autossl: ${e.message}`);
    if (debug && e.stack) io.err(e.stack);
    // Bad input (the message is the whole story for the user) or anything else.
    return classify(err).input ? EXIT.usage : EXIT.internal;
  }
}
