import { type z } from 'zod';

/**
 * The answers of GET /connections/:id/token that providers add to the default one (a driver's
 * `tokenView`). Each provider registers its named response schemas when its module loads; the
 * token route's contract is the exclusive union of the default answer and these, read when the
 * OpenAPI document is made (after every module is loaded).
 */
const views: z.ZodType[] = [];

export function registerTokenView<T extends z.ZodType>(schema: T): T {
  if (!views.includes(schema)) views.push(schema);
  return schema;
}

export function registeredTokenViews(): readonly z.ZodType[] {
  return views;
}
