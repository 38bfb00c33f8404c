// What users read about plugins comes from the plugins' specs: README's plugin table names every built-in (its
// short name and AutoSSL class path) and `autossl plugins` lists every parameter with its default.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { BUILT_IN } from '../../src/catalog';
import { main } from '../../src/client/main';

const README = readFileSync(path.resolve(__dirname, '../../../README.md'), 'utf8');
const KIND_COLUMN = { server: 'server', storage: 'storage', tracking: 'tracking', ca: 'CA', dns: 'DNS' } as const;

describe('plugin documentation', () => {
  it('README has a plugin table row per built-in, with its short name and first alias', () => {
    const rows = README.split('\n').filter((line) => line.startsWith('| '));
    for (const entry of BUILT_IN) {
      const row = rows.find((r) => r.startsWith(`| ${KIND_COLUMN[entry.category]} | \`${entry.name}\``));
      assert.ok(row, `README plugin table has no row for ${entry.category} ${entry.name}`);
      if (entry.aliases[0]) assert.ok(row.includes(`\`${entry.aliases[0]}\``), `README row of ${entry.name} names ${entry.aliases[0]}`);
    }
  });

  it('autossl plugins lists every parameter of every built-in, with its default', async () => {
    const out: string[] = [];
    assert.equal(await main(['plugins'], { out: (t) => out.push(t), err: (t) => out.push(t) }), 0);
    const text = out.join('\n');
    for (const entry of BUILT_IN) {
      assert.ok(text.includes(`  ${entry.name}`), `${entry.name} listed`);
      for (const [name, p] of Object.entries(entry.parameters)) {
        assert.ok(text.includes(`    ${name} (`), `${entry.name}.${name} listed`);
        if (p.default !== undefined) assert.ok(text.includes(`default ${JSON.stringify(p.default)}`), `${entry.name}.${name} default shown`);
      }
    }
  });
});
