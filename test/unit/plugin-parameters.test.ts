// Plugin parameters are the plugin specs' to describe and the loader's to check, once: a value only a plugin used
// to refuse when it was opened is now a load error with file, line and column, and a factory receives the
// spec's defaults for what the blueprint leaves out.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlueprintError, formatIssue } from '../../src/blueprint/errors';
import { withDefaults } from '../../src/blueprint/catalog';
import { BUILT_IN, findPlugin, loadBlueprints } from '../../src/catalog';
import { openServer } from '../../src/catalog/open';

describe('plugin parameters', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'autossl-parameters-'));
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
  });

  const write = async (name: string, server: string): Promise<string> => {
    const file = path.join(dir, `${name}.yaml`);
    await fs.writeFile(
      file,
      [
        `name: ${name}`,
        'servers:',
        `  - ${server}`,
        'certificate: { type: DV, certificate_authority: Manual, common_name: www.example.test }',
        'certificate_authorities: [{ key: Manual }]',
        '',
      ].join('\n'),
    );
    return file;
  };

  const issues = async (file: string): Promise<string[]> => {
    const err = await loadBlueprints({ blueprint: file }).then(
      () => assert.fail('expected a BlueprintError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BlueprintError, String(err));
    return err.issues.map(formatIssue);
  };

  it('refuses out-of-range and malformed server parameters at load, with file, line and column', async () => {
    const file = await write(
      'bad',
      "{ type: ssh, parameters: { host: web-1, path: /etc/ssl, port: 70000, connect_timeout: 0, key_mode: '640x', verify: 'web-1' } }",
    );
    const found = await issues(file);
    const at = (snippet: string) =>
      `${file}:3:${'  - '.length + (`{ type: ssh, parameters: { host: web-1, path: /etc/ssl, port: 70000, connect_timeout: 0, key_mode: '640x', verify: 'web-1' } }`.indexOf(snippet) + 1)}`;
    assert.deepEqual(
      found.sort(),
      [
        `${at('70000')}: servers[0].parameters.port must be 65535 or less`,
        `${at("'640x'")}: servers[0].parameters.key_mode must be an octal mode in quotes, e.g. '0640'`,
        `${at("'web-1' }")}: servers[0].parameters.verify must be host:port (or [IPv6]:port)`,
        `${at('0, key_mode')}: servers[0].parameters.connect_timeout must be 1 or more`,
      ].sort(),
    );
  });

  it('hands the factory the defaults of its spec', async () => {
    const file = await write('defaults', '{ type: ssh, parameters: { host: web-1, path: /etc/ssl } }');
    const [blueprint] = await loadBlueprints({ blueprint: file });
    // What the blueprint holds (and workflow history carries) stays as written.
    assert.deepEqual(blueprint.servers[0].parameters, { host: 'web-1', path: '/etc/ssl' });
    const server = await openServer(blueprint, blueprint.servers[0].id, {
      staging: false,
      credentialsFor: () => ({ resolve: async () => ({}) }) as never,
    });
    assert.equal(server.describe(), 'ssh:web-1:22:/etc/ssl');
    await server.close();
  });

  it('every default a spec declares is valid for its own rules', () => {
    for (const entry of BUILT_IN) {
      const defaults = withDefaults(entry.parameters, {});
      for (const [key, spec] of Object.entries(entry.parameters)) {
        if (spec.default === undefined) continue;
        const where = `${entry.category} ${entry.name}: ${key}`;
        assert.equal(
          Array.isArray(defaults[key]) ? 'string[]' : typeof defaults[key] === 'number' ? 'integer' : typeof defaults[key],
          spec.type,
          where,
        );
        assert.equal(spec.check?.(defaults[key]), undefined, where);
        if (spec.enum) assert.ok(spec.enum.includes(defaults[key] as string), where);
        if (spec.minimum !== undefined) assert.ok((defaults[key] as number) >= spec.minimum, where);
        if (spec.maximum !== undefined) assert.ok((defaults[key] as number) <= spec.maximum, where);
      }
    }
    assert.equal(findPlugin('server', 'ssh')?.parameters.port.default, 22);
  });
});
