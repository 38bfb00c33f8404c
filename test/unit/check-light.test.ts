// `autossl check` runs in cron and CI over thousands of blueprints: it must not load the Temporal SDK (nor need
// a server). A fresh node process runs a real check and reports every module it loaded.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { makeTempDir, writeBlueprint } from '../helpers/pki';

const MAIN = path.resolve(__dirname, '..', '..', 'src', 'client', 'main.js');

test('check loads no @temporalio module, with local, ssh and git plugins', async () => {
  const dir = await makeTempDir('autossl-check-light-');
  try {
    const remote = path.join(dir, 'artifacts.git');
    await promisify(execFile)('git', ['init', '-q', '--bare', '-b', 'main', remote]);
    const certificate = { type: 'DV', certificate_authority: 'Manual', common_name: 'light.example.test' };
    await writeBlueprint(
      dir,
      {
        name: 'light.example.test',
        servers: [{ type: 'local', parameters: { path: path.join(dir, 'web') } }],
        certificate,
        certificate_authorities: [{ key: 'Manual' }],
        storage: { type: 'local', parameters: { path: path.join(dir, 'storage') } },
      },
      'blueprints/local.yaml',
    );
    // Nothing listens on port 1: the ssh plugin runs and reports the server unreachable.
    await writeBlueprint(
      dir,
      {
        name: 'remote.example.test',
        servers: [{ type: 'ssh', parameters: { host: '127.0.0.1', port: 1, path: '/etc/ssl', accept_unknown_host_key: true } }],
        certificate: { ...certificate, common_name: 'remote.example.test' },
        certificate_authorities: [{ key: 'Manual' }],
        storage: { type: 'git', parameters: { git_url: `file://${remote}` } },
      },
      'blueprints/remote.yaml',
    );
    const blueprint = path.join(dir, 'blueprints');
    const script = `
      const quiet = { out() {}, err() {} };
      require(${JSON.stringify(MAIN)}).main(['--blueprint', ${JSON.stringify(blueprint)}, 'check', '--json'], quiet).then((code) => {
        process.stdout.write(JSON.stringify({ code, modules: Object.keys(require.cache) }));
      });`;
    const env = { ...process.env, HOME: dir, GIT_CONFIG_NOSYSTEM: '1', AUTOSSL_DATA_DIR: path.join(dir, 'data') };
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: dir, env });
    const { code, modules } = JSON.parse(stdout) as { code: number; modules: string[] };
    // Exit 1: nothing is issued yet. What matters is that the check really ran through the plugins.
    assert.equal(code, 1);
    for (const plugin of ['servers/local', 'servers/ssh', 'storage/git']) {
      assert.ok(
        modules.some((m) => m.includes(path.join('plugins', plugin, 'index.js')) || m.endsWith(path.join('plugins', `${plugin}.js`))),
        `the ${plugin} plugin was used`,
      );
    }
    assert.deepEqual(
      modules.filter((m) => m.includes('@temporalio')),
      [],
    );
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
