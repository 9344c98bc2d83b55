import { z } from 'zod';

export const retrySetupBody = z
  .object({
    project_ids: z
      .array(z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'must be a GCP project id'))
      .min(1, 'must name at least one project')
      .max(1000)
      .refine((ids) => new Set(ids).size === ids.length, 'must not repeat a project')
      .optional(),
  })
  .strict()
  // No body at all is a plain retry.
  .optional()
  .transform((body) => body ?? {});

export type RetrySetupBody = z.infer<typeof retrySetupBody>;

/** GET /connections/:id/setup (SPEC §4). */
export interface SetupView {
  status: string;
  progress: number;
  current_step: string | null;
  steps: { name: string; status: string; detail?: string; error_code?: string }[];
  result?: Record<string, unknown>;
  error_code?: string;
  eligible_projects?: { project_id: string; name: string; billing_enabled: boolean }[];
  selection?: string[];
  attempts: number;
  updated_at: string | null;
  finished_at: string | null;
}
