import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { blueprintSchema, renderBlueprintSchema } from '../../src/catalog/schema';
import { BUILT_IN as CATALOG, builtInNames as pluginNames } from '../../src/catalog';

const COMMITTED = path.resolve(__dirname, '../../../schema/blueprint.schema.json');

type Schema = Record<string, any>;

describe('blueprint JSON Schema', () => {
  it('committed schema/blueprint.schema.json is up to date (node dist/src/catalog/schema.js > schema/blueprint.schema.json)', () => {
    assert.equal(readFileSync(COMMITTED, 'utf8'), renderBlueprintSchema());
  });

  it('offers every server type of the catalogue and checks each one parameters', () => {
    const schema = blueprintSchema() as Schema;
    const server = schema.$defs.server;
    assert.deepEqual(server.properties.type.anyOf[0].enum, pluginNames('server'));
    assert.equal(server.additionalProperties, false);
    for (const entry of CATALOG.filter((e) => e.category === 'server')) {
      const rule = server.allOf.find((c: Schema) => c.if.properties.type.enum.includes(entry.name));
      assert.ok(rule, `no parameters rule for server type ${entry.name}`);
      const parameters = rule.then.properties.parameters;
      assert.deepEqual(Object.keys(parameters.properties), Object.keys(entry.parameters));
    }
  });

  it('describes the certificate keys the loader accepts, with their defaults', () => {
    const certificate = (blueprintSchema() as Schema).$defs.certificate;
    assert.equal(certificate.additionalProperties, false);
    assert.ok('san' in certificate.properties && !('sna' in certificate.properties));
    assert.deepEqual(certificate.properties.renewal_delay, {
      description: 'Renew when the certificate expires in this many days or fewer.',
      type: ['integer', 'null'],
      minimum: 0,
      default: 30,
    });
    assert.deepEqual(certificate.properties.private_key_type.enum, ['RSA', 'ECDSA', null]);
  });
});
