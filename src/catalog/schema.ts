// The blueprint JSON Schema over the built-in catalog. Regenerate the committed file with:
// node dist/src/catalog/schema.js > schema/blueprint.schema.json
import { blueprintSchema as schemaOf, renderBlueprintSchema as renderOf } from '../blueprint/schema';
import { CATALOG } from '.';

export const blueprintSchema = (): Record<string, unknown> => schemaOf(CATALOG);
export const renderBlueprintSchema = (): string => renderOf(CATALOG);

if (require.main === module) process.stdout.write(renderBlueprintSchema());
