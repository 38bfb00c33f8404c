// `autossl version`
import type { CommandSpec } from '../cli';
import type { Context } from '../context';

export const spec: CommandSpec = { name: 'version', summary: 'Print the version.', description: 'Prints the autossl version.', options: {} };

export async function run(ctx: Context): Promise<number> {
  ctx.io.out(`autossl ${(require('../../../../package.json') as { version: string }).version}`);
  return 0;
}
