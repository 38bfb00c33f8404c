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

test('check loads no @temporalio module', async () => {
  const dir = await makeTempDir('autossl-check-light-');
  try {
    const blueprint = await writeBlueprint(dir, {
      name: 'light.example.test',
      servers: [{ type: 'local', parameters: { path: path.join(dir, 'web') } }],
      certificate: { type: 'DV', certificate_authority: 'Manual', common_name: 'light.example.test' },
      certificate_authorities: [{ key: 'Manual' }],
      storage: { type: 'local', parameters: { path: path.join(dir, 'storage') } },
    });
    const script = `
      const quiet = { out() {}, err() {} };
      require(${JSON.stringify(MAIN)}).main(['--blueprint', ${JSON.stringify(blueprint)}, 'check', '--json'], quiet).then((code) => {
        process.stdout.write(JSON.stringify({ code, modules: Object.keys(require.cache) }));
      });`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: dir });
    const { code, modules } = JSON.parse(stdout) as { code: number; modules: string[] };
    // Exit 1: nothing is issued yet. What matters is that the check really ran through the plugins.
    assert.equal(code, 1);
    assert.ok(modules.some((m) => m.includes(`${path.sep}plugins${path.sep}servers${path.sep}local.js`)), 'the local server plugin was used');
    assert.deepEqual(modules.filter((m) => m.includes('@temporalio')), []);
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
