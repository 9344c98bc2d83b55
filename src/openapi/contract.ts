import { Body, Param, Query } from '@nestjs/common';
import { ApiBody, ApiParam, ApiQuery, ApiResponse, type SchemaObject } from '@nestjs/swagger';
import { z } from 'zod';
import { ZodPipe } from '../common/zod-pipe';

/**
 * The HTTP contract has one source: zod schemas. The validation pipe parses with them and the
 * OpenAPI document is generated from them (zod 4's own JSON Schema output), so the two cannot
 * disagree. Request schemas are documented as their input, response schemas as their output.
 */
const requests = z.registry<{ id: string }>();
const responses = z.registry<{ id: string }>();

/** Names a request body schema: it becomes `#/components/schemas/<id>`. */
export function requestSchema<T extends z.ZodType>(id: string, schema: T): T {
  requests.add(schema, { id });
  return schema;
}

/** Names a response schema: it becomes `#/components/schemas/<id>`. */
export function responseSchema<T extends z.ZodType>(id: string, schema: T): T {
  responses.add(schema, { id });
  return schema;
}

/** Strings the API writes in a known format, documented without zod's long validation regexes. */
export const dateTimeString = z.string().meta({ format: 'date-time' });
export const uuidString = z.string().meta({ format: 'uuid' });

export function schemaRef(schema: z.ZodType): { $ref: string } {
  const id = requests.get(schema)?.id ?? responses.get(schema)?.id;
  if (id === undefined) throw new Error('schemaRef: the schema was not named');
  return { $ref: `#/components/schemas/${id}` };
}

type JsonSchema = Record<string, unknown>;

function openApi(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'any',
  }) as JsonSchema;
  return rest;
}

/** Every named schema, for `components.schemas`. */
export function componentSchemas(): Record<string, SchemaObject> {
  const convert = (registry: typeof requests, io: 'input' | 'output') => {
    const { schemas } = z.toJSONSchema(registry, {
      target: 'openapi-3.0',
      io,
      unrepresentable: 'any',
      uri: (id) => `#/components/schemas/${id}`,
    });
    return Object.fromEntries(
      Object.entries(schemas).map(([id, { $id: _, ...schema }]) => [id, schema as SchemaObject]),
    );
  };
  const inputs = convert(requests, 'input');
  const outputs = convert(responses, 'output');
  for (const id of Object.keys(inputs)) {
    if (id in outputs) throw new Error(`schema id ${id} names a request and a response schema`);
  }
  return { ...inputs, ...outputs };
}

/** Swagger's method decorators as a parameter decorator applies them: on the method itself. */
function onMethod(
  target: object,
  key: string | symbol | undefined,
  ...decorators: MethodDecorator[]
): void {
  if (key === undefined) throw new Error('contract decorators belong on handler parameters');
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (!descriptor) throw new Error(`no method ${String(key)}`);
  for (const decorate of decorators) decorate(target, key, descriptor);
}

/** The request body, validated by and documented from one named schema. */
export function ZodBody(schema: z.ZodType): ParameterDecorator {
  return (target, key, index) => {
    Body(new ZodPipe(schema))(target, key, index);
    // A schema that accepts no body at all (a default, or optional) documents an optional body.
    const required = !schema.safeParse(undefined).success;
    onMethod(target, key, ApiBody({ required, schema: schemaRef(schema) }));
  };
}

/** The query string, validated by and documented (one parameter per field) from one schema. */
export function ZodQuery(schema: z.ZodObject): ParameterDecorator {
  return (target, key, index) => {
    Query(new ZodPipe(schema, 'query'))(target, key, index);
    const json = openApi(schema, 'input') as {
      properties?: Record<string, JsonSchema>;
      required?: string[];
    };
    onMethod(
      target,
      key,
      ...Object.entries(json.properties ?? {}).map(([name, property]) => {
        const { description, ...propertySchema } = property;
        return ApiQuery({
          name,
          required: json.required?.includes(name) ?? false,
          schema: propertySchema,
          ...(typeof description === 'string' ? { description } : {}),
        });
      }),
    );
  };
}

/** A path parameter, validated by and documented from a schema. */
export function ZodParam(name: string, schema: z.ZodType<string, string>): ParameterDecorator {
  return (target, key, index) => {
    Param(name, new ZodPipe(schema, 'path'))(target, key, index);
    const { description, ...propertySchema } = openApi(schema, 'input');
    onMethod(
      target,
      key,
      ApiParam({
        name,
        required: true,
        schema: propertySchema,
        ...(typeof description === 'string' ? { description } : {}),
      }),
    );
  };
}

/** A success response documented from a named schema (or no body, for 204 and redirects). */
export function ZodResponse(
  status: number,
  schema: z.ZodType | null,
  description?: string,
): MethodDecorator {
  return ApiResponse({
    status,
    description: description ?? 'OK',
    ...(schema ? { schema: schemaRef(schema) } : {}),
  });
}
