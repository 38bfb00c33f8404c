// The floor for bench/acme.ts: raw acme-client in one Node process, one account, `concurrency` certificates at a
// time, auto mode, with acme-client's default polling or autossl's. Key and certificate written to the deploy
// folder like a local server deploy. Prints each certificate's latency (ms) as JSON on stdout.
//
//   node dist/bench/acme-raw.js <job.json> <concurrency>     (bench/acme.ts writes the job file)
import { promises as fs } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import * as acme from 'acme-client';

const EMAIL = 'admin@example.test';

/** The floor: what any acme-client program must do per certificate, with acme-client's default polling. */
async function main(listFile: string, concurrency: number): Promise<void> {
  const job = JSON.parse(await fs.readFile(listFile, 'utf8')) as {
    domains: string[];
    directoryUrl: string;
    caBundle: string;
    challengeDir: string;
    deployDir: string;
    /** acme-client's backoff options; absent: its defaults (first poll at once, then after 5 s, 10 s, ...). */
    polling?: { backoffAttempts: number; backoffMin: number; backoffMax: number };
  };
  const agent = new https.Agent({ ca: await fs.readFile(job.caBundle, 'utf8'), keepAlive: true });
  acme.axios.defaults.httpsAgent = agent;
  const client = new acme.Client({ directoryUrl: job.directoryUrl, accountKey: await acme.crypto.createPrivateEcdsaKey('P-256'), ...job.polling });
  await client.createAccount({ termsOfServiceAgreed: true, contact: [`mailto:${EMAIL}`] });
  const latencies: number[] = [];
  const one = async (domain: string) => {
    const t0 = Date.now();
    const [key, csr] = await acme.crypto.createCsr({ commonName: domain, altNames: [domain] }, await acme.crypto.createPrivateEcdsaKey('P-256'));
    const cert = await client.auto({
      csr,
      termsOfServiceAgreed: true,
      challengePriority: ['http-01'],
      challengeCreateFn: async (_authz, challenge, keyAuthorization) => fs.writeFile(path.join(job.challengeDir, challenge.token), keyAuthorization),
      challengeRemoveFn: async (_authz, challenge) => fs.rm(path.join(job.challengeDir, challenge.token), { force: true }),
      skipChallengeVerification: true,
    });
    await fs.writeFile(path.join(job.deployDir, `${domain}.key`), key, { mode: 0o600 });
    await fs.writeFile(path.join(job.deployDir, `${domain}.crt`), cert);
    latencies.push(Date.now() - t0);
  };
  const queue = [...job.domains];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let d = queue.shift(); d !== undefined; d = queue.shift()) await one(d);
    }),
  );
  agent.destroy();
  process.stdout.write(`${JSON.stringify(latencies)}\n`);
}

main(process.argv[2], Number(process.argv[3] ?? 1)).catch((err: Error) => {
  process.stderr.write(`bench/acme-raw: ${err.stack ?? err.message}\n`);
  process.exitCode = 1;
});
