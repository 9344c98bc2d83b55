import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES } from '../../../src/common/error-codes';

interface Operation {
  operationId?: string;
  requestBody?: { content: Record<string, { schema: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema: Record<string, unknown> }> }>;
}

/** The committed contract (openapi.json, checked against the code by `npm run test:openapi`). */
const document = JSON.parse(readFileSync(join(__dirname, '../../../openapi.json'), 'utf8')) as {
  info: { description: string };
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
};
const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
);

describe('openapi.json', () => {
  it('gives every operation a stable, unique, camelCase operationId', () => {
    const ids = operations.map(({ operation }) => operation.operationId);
    for (const id of ids) expect(id).toMatch(/^[a-z][A-Za-z]+$/);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual(
      expect.arrayContaining(['listConnections', 'getConnection', 'getConnectionToken']),
    );
  });

  it('documents every body and answer by a named schema from the zod contract', () => {
    for (const { operation } of operations) {
      const contents = [
        ...Object.values(operation.requestBody?.content ?? {}),
        ...Object.values(operation.responses).flatMap((r) => Object.values(r.content ?? {})),
      ];
      for (const { schema } of contents) {
        expect(schema).toEqual({ $ref: expect.stringMatching(/^#\/components\/schemas\/\w+$/) });
        const name = (schema.$ref as string).split('/').pop() as string;
        expect(document.components.schemas[name]).toBeDefined();
      }
    }
  });

  it('keeps the error code table: in the description and as the Problem code enum', () => {
    const codes = Object.keys(ERROR_CODES);
    expect(document.components.schemas.Problem.properties?.code.enum).toEqual(codes);
    for (const code of codes) expect(document.info.description).toContain(`\`${code}\``);
  });
});
