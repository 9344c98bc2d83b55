import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { type SchemaObject } from '@nestjs/swagger';
import { ERROR_CODES } from '../common/error-codes';
import { CONNECTION_STATUSES, PROVIDERS, SETUP_STATUSES } from '../database/enums';

/** Shared OpenAPI component schemas, added to the document in `buildOpenApiDocument`. */
export const COMPONENT_SCHEMAS: Record<string, SchemaObject> = {
  Problem: {
    type: 'object',
    description: 'RFC 9457 problem details. `code` is stable and machine-readable.',
    required: ['type', 'title', 'status', 'detail', 'code', 'request_id'],
    properties: {
      type: { type: 'string', format: 'uri' },
      title: { type: 'string' },
      status: { type: 'integer' },
      detail: { type: 'string' },
      code: { type: 'string', enum: Object.keys(ERROR_CODES) },
      request_id: { type: 'string' },
      errors: {
        type: 'array',
        items: {
          type: 'object',
          required: ['path', 'message'],
          properties: { path: { type: 'string' }, message: { type: 'string' } },
        },
      },
    },
  },
  Connection: {
    type: 'object',
    required: [
      'id',
      'provider',
      'account_ref',
      'display_name',
      'status',
      'setup_status',
      'scopes',
      'expires_at',
      'last_refreshed_at',
      'refresh_failures',
      'last_error_code',
      'metadata',
      'created_at',
      'updated_at',
    ],
    properties: {
      id: { type: 'string', format: 'uuid' },
      provider: { type: 'string', enum: [...PROVIDERS] },
      account_ref: {
        type: 'string',
        description: 'GCP email, Azure <tenant>/<subscription>, Tailscale tailnet, OVH nichandle',
      },
      display_name: { type: 'string', nullable: true },
      status: { type: 'string', enum: [...CONNECTION_STATUSES] },
      setup_status: { type: 'string', enum: [...SETUP_STATUSES] },
      scopes: { type: 'array', items: { type: 'string' } },
      expires_at: { type: 'string', format: 'date-time', nullable: true },
      last_refreshed_at: { type: 'string', format: 'date-time', nullable: true },
      refresh_failures: { type: 'integer' },
      last_error_code: { type: 'string', nullable: true },
      metadata: { type: 'object', additionalProperties: true },
      created_at: { type: 'string', format: 'date-time' },
      updated_at: { type: 'string', format: 'date-time' },
    },
  },
};

export function schemaRef(name: keyof typeof COMPONENT_SCHEMAS): { $ref: string } {
  return { $ref: `#/components/schemas/${name}` };
}

const DESCRIPTIONS: Record<number, string> = {
  400: 'validation_failed: malformed body, unknown field, wrong type, bad filter, cursor or limit',
  401: 'unauthenticated',
  403: 'forbidden: the API key lacks the scope',
  404: "not_found (also for another user's connection) or provider_disabled",
  409: 'needs_reauth or conflict',
  413: 'payload_too_large',
  422: 'the provider accepted the credentials but the account cannot be used',
  429: 'rate_limited',
  503: 'provider_unavailable or secret_store_unavailable',
};

/** Documents problem+json error responses for the given statuses. */
export function problemResponses(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({
        status,
        description: DESCRIPTIONS[status] ?? 'error',
        content: { 'application/problem+json': { schema: schemaRef('Problem') } },
      }),
    ),
  );
}
