// `autossl deploy`: put the stored (or given) certificate on the servers, after AutoSSL's pre-deploy checks.
import { pendingName } from '../../activities';
import type { Blueprint } from '../../blueprint/types';
import { assertDeployable, splitBundle } from '../../inspect/certificate';
import { openStorage, using } from '../../catalog/open';
import { workflowIdFor } from '../../workflows/definitions';
import { keyMatchesCertificate, loadCertificate, loadPrivateKey, X509Error } from '../../x509';
import { CONNECTION_OPTIONS, UsageError, type CommandSpec } from '../cli';
import { loadFromOptions, pluginEnvironment, str, type Context } from '../context';
import { waitOptions } from '../follow';
import { readInputFile } from '../input';
import { followRequests } from './renew';
import { deliver } from './submit';

export const spec: CommandSpec = {
  name: 'deploy',
  summary: 'Deploy the stored certificate, or a given key/certificate pair, to the servers.',
  description: [
    "Checks the pair in AutoSSL's order (key matches certificate, not expired nor within renewal_delay, covers the",
    'blueprint, a chain exists when a server wants the full chain, chain of trust verifies); a bad pair is refused',
    "before anything is written. A given pair is then stored in the blueprint's storage and the lifecycle workflow",
    'deploys it to the servers that are out of date (every server with --all-servers).',
    "A manual CA's certificate (the CA gets <name>.csr from storage; autossl status says where): while the",
    "workflow awaits it, --certificate F whose key is the renewal's pending key (<name>.pending.key in storage) is",
    'delivered exactly as `autossl submit` does (exit 0 once accepted, and the workflow deploys it; exit 1 refused),',
    '--private-key is then not needed, and not used. --tracking-record ID --certificate F does the same without',
    '--blueprint. A --certificate matching neither the pending nor the stored key is refused (exit 2).',
    'With no Temporal server configured or answering, it runs on the embedded one over the data dir (as renew does).',
    'Exit 0 when every server has it, 1 when a server failed or --timeout passed first, 2 on bad input or when no',
    'Temporal server can be reached or started.',
  ].join('\n'),
  options: {
    'all-servers': { type: 'boolean', help: 'Deploy to every server, not only those out of date.' },
    'private-key': { type: 'string', short: 'k', value: 'FILE', help: 'Private key to deploy (default: the stored one).' },
    certificate: {
      type: 'string',
      short: 'c',
      value: 'FILE',
      help: "Certificate to deploy (default: the stored one), or a manual CA's for the renewal awaiting it.",
    },
    'tracking-record': { type: 'string', short: 't', value: 'ID', help: 'Workflow id (cert:<name>) printed by renew.' },
    ...waitOptions,
    ...CONNECTION_OPTIONS,
  },
};

/** A given file, refused with its option and name when it is not what the option wants (swapped files happen). */
async function given(option: string, file: string, parse: (text: string) => unknown): Promise<string> {
  const text = await readInputFile(file, option);
  try {
    parse(text);
  } catch (err) {
    if (err instanceof X509Error) throw new UsageError(`${option} ${file}: ${err.message}`);
    throw err;
  }
  return text;
}

/**
 * What the given files ask for: a certificate whose key is the pending one of the renewal in progress goes to
 * the workflow awaiting it (`deliver`); any other pair gets AutoSSL's pre-deploy checks (the stored half filling
 * in for the one not given). Neither needs a Temporal server nor changes anything: a refused pair leaves no trace.
 */
async function checkedPair(ctx: Context, blueprint: Blueprint, certFile: string | undefined, keyFile: string | undefined) {
  const storage = await openStorage(blueprint, pluginEnvironment(ctx, true));
  if (!storage) throw new UsageError(`blueprint '${blueprint.name}' has no storage to deploy from`);
  return using(storage, async (s) => {
    const certificate = certFile ? await given('--certificate', certFile, loadCertificate) : await s.get(blueprint.name, 'crt');
    const key = keyFile ? await given('--private-key', keyFile, loadPrivateKey) : await s.get(blueprint.name, 'key');
    if (certificate === null) throw new UsageError(`no stored certificate for '${blueprint.name}': give --certificate`);
    if (certFile) {
      const pendingKey = await s.get(pendingName(blueprint.name), 'key');
      const { leaf } = splitBundle(blueprint, certificate);
      if (pendingKey !== null && keyMatchesCertificate(pendingKey, leaf)) {
        // AutoSSL's habit is `-k <name>.key -c new.crt`; here <name>.key is still the live key until the new one is in.
        if (keyFile && !keyMatchesCertificate(key!, leaf)) {
          ctx.io.err(`  --private-key ${keyFile} is not the key of ${certFile}, not used: the renewal in progress has its key in storage`);
        }
        return { deliver: true as const };
      }
    }
    if (key === null) throw new UsageError(`no stored private key for '${blueprint.name}': give --private-key`);
    return { deliver: false as const, key, ...assertDeployable(blueprint, certificate, key, Date.now()) };
  });
}

export async function run(ctx: Context): Promise<number> {
  const certFile = str(ctx.values.certificate);
  const keyFile = str(ctx.values['private-key']);
  const record = str(ctx.values['tracking-record']);
  if (record && certFile && !keyFile && !str(ctx.values.blueprint)) return deliver(ctx, record, certFile);

  const blueprints = await loadFromOptions(ctx);
  if ((certFile || keyFile) && blueprints.length !== 1) {
    throw new UsageError(`--certificate/--private-key need --blueprint to name exactly one certificate (got ${blueprints.length})`);
  }
  if (record && blueprints.some((b) => workflowIdFor(b.name) !== record)) {
    throw new UsageError(`tracking record ${record} does not belong to ${blueprints.map((b) => b.name).join(', ')}`);
  }
  const blueprint = blueprints[0];
  const pair = certFile || keyFile ? await checkedPair(ctx, blueprint, certFile, keyFile) : undefined;
  if (pair?.deliver) return deliver(ctx, workflowIdFor(blueprint.name), certFile!);
  // Stored only once a Temporal server answers: a deploy that cannot be requested changes nothing either.
  const store =
    pair &&
    (async () => {
      const storage = (await openStorage(blueprint, pluginEnvironment(ctx, true)))!;
      await using(storage, async (s) => {
        const { key, leaf, chain, facts } = pair;
        await s.put(blueprint.name, 'key', key, `${blueprint.name}: private key for ${facts.serial} (autossl deploy)`);
        await s.put(blueprint.name, 'crt', [leaf, ...chain].join(''), `${blueprint.name}: certificate ${facts.serial} (autossl deploy)`);
        ctx.io.err(`  ${blueprint.name}: stored certificate ${facts.serial}, valid until ${facts.notAfter}`);
      });
    });
  return followRequests(ctx, blueprints, { allServers: ctx.values['all-servers'] === true }, store);
}
