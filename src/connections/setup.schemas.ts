import { z } from 'zod';
import { SETUP_STATUSES, SETUP_STEP_STATUSES } from '../database/enums';
import { dateTimeString, requestSchema, responseSchema } from '../openapi/contract';

export const retrySetupBody = requestSchema(
  'RetrySetupRequest',
  z
    .object({
      project_ids: z
        .array(z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a GCP project id'))
        .min(1, 'must name at least one project')
        .max(1000)
        .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a project')
        .optional()
        .describe('GCP: the projects to set up, when setup asked for a selection'),
    })
    .strict()
    // No body at all is a plain retry.
    .prefault({}),
);

export type RetrySetupBody = z.infer<typeof retrySetupBody>;

/** GET /connections/:id/setup (SPEC §4). */
export const setupView = responseSchema(
  'SetupRun',
  z.object({
    status: z.enum(SETUP_STATUSES),
    progress: z.number().int().min(0).max(100),
    current_step: z.string().nullable(),
    steps: z.array(
      z.object({
        name: z.string(),
        status: z.enum(SETUP_STEP_STATUSES),
        detail: z.string().optional(),
        error_code: z.string().optional(),
      }),
    ),
    result: z.record(z.string(), z.unknown()).optional(),
    error_code: z.string().optional(),
    eligible_projects: z
      .array(z.object({ project_id: z.string(), name: z.string(), billing_enabled: z.boolean() }))
      .optional(),
    selection: z.array(z.string()).optional(),
    attempts: z.number().int(),
    updated_at: dateTimeString.nullable(),
    finished_at: dateTimeString.nullable(),
  }),
);

export type SetupView = z.output<typeof setupView>;
