import { z } from 'zod';
import { type FieldError } from '../common/error-codes';
import { fieldErrors } from '../common/zod-pipe';
import { OVH_REGIONS, type OvhRegion } from '../config/config';
import { awsConnectBody } from '../providers/aws/aws.schemas';
import { azureLoginBody } from '../providers/azure/azure.schemas';
import { tailscaleConnectBody } from '../providers/tailscale/tailscale.schemas';
import { type FormState } from './connect-page';

/**
 * The connect page's forms, validated with the same schemas as the JSON routes they stand for.
 * An HTML form sends every field, so an empty optional one means "not given".
 */
type FormBody = Record<string, string | string[]>;

function withoutEmpty(body: unknown, fields: readonly string[]): Record<string, unknown> {
  const form = (body ?? {}) as FormBody;
  const out: Record<string, unknown> = {};
  for (const name of fields) {
    const value = Object.hasOwn(form, name) ? form[name] : undefined;
    if (typeof value === 'string' ? value.trim() !== '' : value !== undefined) {
      out[name] = typeof value === 'string' ? value.trim() : value;
    }
  }
  return out;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; state: FormState };

function parseWith<S extends z.ZodType>(
  schema: S,
  body: unknown,
  fields: readonly string[],
  secret: readonly string[],
): Parsed<z.output<S>> {
  const input = withoutEmpty(body, fields);
  const parsed = schema.safeParse(input);
  if (parsed.success) return { ok: true, value: parsed.data };
  return { ok: false, state: formState(input, fieldErrors(parsed.error, input, schema), secret) };
}

/** What a failed form shows again: its values except the secret ones, and a message per field. */
export function formState(
  input: Record<string, unknown>,
  errors: FieldError[],
  secret: readonly string[],
): FormState {
  const values: Record<string, string> = {};
  for (const [name, value] of Object.entries(input)) {
    if (!secret.includes(name) && typeof value === 'string') values[name] = value;
  }
  return { values, errors: Object.fromEntries(errors.map((e) => [e.path, e.message])) };
}

export const AZURE_FIELDS = ['tenant_id', 'client_id', 'client_secret', 'subscription_id'] as const;
export const TAILSCALE_FIELDS = ['client_id', 'client_secret', 'tailnet'] as const;
export const SECRET_FIELDS = ['client_secret'] as const;

export const parseAzureForm = (body: unknown) =>
  parseWith(azureLoginBody, body, AZURE_FIELDS, SECRET_FIELDS);
export const parseTailscaleForm = (body: unknown) =>
  parseWith(tailscaleConnectBody, body, TAILSCALE_FIELDS, SECRET_FIELDS);

export const AWS_FIELDS = ['role_arn', 'region', 'session_duration_seconds'] as const;

/** An HTML form sends the duration as text: digits become the number the JSON route takes. */
export function parseAwsForm(body: unknown): Parsed<z.output<typeof awsConnectBody>> {
  const input = withoutEmpty(body, AWS_FIELDS);
  const duration = input.session_duration_seconds;
  const typed =
    typeof duration === 'string' && /^\d{1,6}$/.test(duration)
      ? { ...input, session_duration_seconds: Number(duration) }
      : input;
  const parsed = awsConnectBody.safeParse(typed);
  if (parsed.success) return { ok: true, value: parsed.data };
  // The values go back as they were typed (text), with a message per field.
  return { ok: false, state: formState(input, fieldErrors(parsed.error, typed, awsConnectBody), []) }; // prettier-ignore
}

const ovhForm = z.object({ region: z.enum(OVH_REGIONS as [OvhRegion, ...OvhRegion[]]) });
export const parseOvhForm = (body: unknown) => parseWith(ovhForm, body, ['region'], []);

const claimForm = z.object({ claim: z.string().min(1).max(256) });
export const parseClaimForm = (body: unknown) => parseWith(claimForm, body, ['claim'], []);

/** Retry setup: the ticked projects, if the form had checkboxes (one ticked box is a string). */
export function retryBody(body: unknown): { project_ids?: string[] } {
  const ids = withoutEmpty(body, ['project_ids']).project_ids;
  if (ids === undefined) return {};
  return { project_ids: Array.isArray(ids) ? (ids as string[]) : [ids as string] };
}

/** GET /connect's query: everything optional, anything unexpected ignored (it is a landing). */
const word = z
  .string()
  .max(64)
  .regex(/^[a-z_]+$/)
  .optional()
  .catch(undefined);
export const landingQuery = z.object({
  notice: word,
  login: word,
  code: word,
  provider: word,
  status: word,
  connection_id: z.string().max(64).optional().catch(undefined),
  claim: z
    .string()
    .regex(/^[A-Za-z0-9_-]{16,128}$/)
    .optional()
    .catch(undefined),
});
export type LandingQuery = z.output<typeof landingQuery>;
