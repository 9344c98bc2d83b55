import { z } from 'zod';
import { CONNECTION_STATUSES, PROVIDERS } from '../database/enums';
import { type ConnectionPageCursor } from '../database/repositories/connections.repository';
import { responseSchema } from '../openapi/contract';
import { connectionView } from './connection.presenter';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const CURSOR_TS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

export function encodeCursor(cursor: ConnectionPageCursor): string {
  return Buffer.from(JSON.stringify([cursor.createdAt, cursor.id])).toString('base64url');
}

function decodeCursor(value: string): ConnectionPageCursor | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[0] === 'string' &&
      typeof parsed[1] === 'string' &&
      CURSOR_TS.test(parsed[0]) &&
      UUID.test(parsed[1])
    ) {
      return { createdAt: parsed[0], id: parsed[1] };
    }
  } catch {
    // fall through: not a cursor we made
  }
  return undefined;
}

export const listConnectionsQuery = z
  .object({
    provider: z.enum(PROVIDERS).optional(),
    status: z.enum(CONNECTION_STATUSES).optional(),
    limit: z
      .string()
      .regex(/^\d+$/, 'must be a whole number between 1 and 100')
      .transform(Number)
      .pipe(z.number().int().min(1, 'must be at least 1').max(100, 'must be at most 100'))
      .optional()
      .describe('Page size, 1 to 100 (default 20)'),
    cursor: z
      .string()
      .max(512)
      .transform((value, ctx) => {
        const cursor = decodeCursor(value);
        if (!cursor) {
          ctx.addIssue({
            code: 'custom',
            message: 'is not a cursor this API returned',
          });
          return z.NEVER;
        }
        return cursor;
      })
      .optional()
      .describe('next_cursor from the previous page'),
  })
  .strict();

export type ListConnectionsQuery = z.infer<typeof listConnectionsQuery>;

export const connectionPage = responseSchema(
  'ConnectionPage',
  z.object({
    items: z.array(connectionView),
    next_cursor: z
      .string()
      .nullable()
      .describe('Pass as `cursor` for the next page; null at the end'),
  }),
);

export type ConnectionPage = z.output<typeof connectionPage>;

/** A connection id in a path. Not validated as a UUID here: an id that is not one answers 404. */
export const connectionIdParam = z
  .string()
  .meta({ format: 'uuid', description: 'The connection id' });
