import { Body, Controller, Get, Header, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiBody, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditService } from '../../audit/audit.service';
import { type Caller, callerActor } from '../../auth/caller';
import { CurrentCaller, RequireScopes } from '../../auth/decorators';
import { BrokerError } from '../../common/error-codes';
import { ConnectionsService } from '../../connections/connections.service';
import { TokenService } from '../../connections/token.service';
import { SetupRunsRepository } from '../../database/repositories/setup-runs.repository';
import {
  ZodParam,
  ZodResponse,
  dateTimeString,
  requestSchema,
  responseSchema,
  schemaRef,
  uuidString,
} from '../../openapi/contract';
import { ZodPipe } from '../../common/zod-pipe';
import { problemResponses } from '../../openapi/schemas';
import { GoogleApiError } from './setup/google-api-error';
import { CLOUD_PLATFORM, GcpSetupClient } from './setup/gcp-setup.client';
import { type ServiceAccountsState } from './setup/service-accounts.step';

const ACCESS: Record<string, 'read_write' | 'read_only'> = { rw: 'read_write', ro: 'read_only' };

export const serviceAccountsView = responseSchema(
  'ServiceAccounts',
  z.object({
    items: z.array(
      z.object({
        email: z.string(),
        access: z.enum(['read_write', 'read_only']).describe('GCP_SA_ROLES_RW or GCP_SA_ROLES_RO'),
        project_id: z.string().describe('The root project the account lives in'),
      }),
    ),
  }),
);

export const serviceAccountTokenBody = requestSchema(
  'ServiceAccountTokenRequest',
  z
    .strictObject({
      scopes: z
        .array(
          z
            .string()
            .regex(
              /^https:\/\/www\.googleapis\.com\/auth\/[a-z0-9._-]+$/,
              'must be a Google OAuth scope URL',
            ),
        )
        .min(1)
        .max(20)
        .optional()
        .describe("Default: cloud-platform (the account's roles limit what it can do)"),
      lifetime_seconds: z
        .number()
        .int()
        .min(60)
        .max(3600)
        .optional()
        .describe('Default and maximum 3600'),
    })
    .prefault({}),
);

export const serviceAccountTokenView = responseSchema(
  'ServiceAccountToken',
  z.object({
    access_token: z.string(),
    token_type: z.literal('Bearer'),
    expires_at: dateTimeString,
    scope: z.string(),
    service_account: z.string(),
  }),
);

const connectionId = uuidString.describe('The GCP connection');

/**
 * The service accounts GCP setup made (SPEC §14), least privilege first: a caller can mint a
 * short-lived token of the read-only account instead of using the person's own cloud-platform
 * token. Minted with the person's grant through IAM Credentials generateAccessToken; a read of a
 * credential, so `tokens:read` suffices though it is a POST; audited.
 */
@ApiTags('gcp')
@ApiBearerAuth()
@Controller('connections')
export class GcpOutputsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly tokens: TokenService,
    private readonly runs: SetupRunsRepository,
    private readonly google: GcpSetupClient,
    @Inject(AuditService) private readonly audit: AuditService,
  ) {}

  @Get(':id/service-accounts')
  @ApiOperation({
    operationId: 'listServiceAccounts',
    summary: 'The service accounts GCP setup made',
  })
  @ZodResponse(200, serviceAccountsView)
  @problemResponses(401, 403, 404)
  async list(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionId) id: string,
  ): Promise<z.output<typeof serviceAccountsView>> {
    return { items: await this.accountsOf(caller, id) };
  }

  @Post(':id/service-accounts/:email/token')
  @HttpCode(200)
  @RequireScopes('tokens:read')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'serviceAccountToken',
    summary: 'A short-lived access token of one of the service accounts setup made (tokens:read)',
  })
  @ApiParam({ name: 'email', description: 'One of the accounts GET …/service-accounts lists' })
  @ApiBody({ required: false, schema: schemaRef(serviceAccountTokenBody) })
  @ZodResponse(200, serviceAccountTokenView)
  @problemResponses(400, 401, 403, 404, 409, 503)
  async token(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionId) id: string,
    @Param('email') email: string,
    @Body(new ZodPipe(serviceAccountTokenBody)) body: z.output<typeof serviceAccountTokenBody>,
    @Req() req: FastifyRequest,
  ): Promise<z.output<typeof serviceAccountTokenView>> {
    const account = (await this.accountsOf(caller, id)).find((a) => a.email === email);
    if (!account) throw new BrokerError('not_found', 'No such service account of this connection');
    const { access_token: userToken } = (await this.tokens.read(caller, id, req.id)) as {
      access_token: string;
    };
    const scopes = body.scopes ?? [CLOUD_PLATFORM];
    const minted = await this.google
      .generateAccessToken(userToken, email, scopes, body.lifetime_seconds ?? 3600)
      .catch((err: unknown) => {
        const status = err instanceof GoogleApiError ? err.status : undefined;
        if (status === 403 || status === 404) {
          throw new BrokerError(
            'conflict',
            'Google refused to mint a token for this account (its IAM bindings or the grant changed); retry setup',
          );
        }
        throw new BrokerError(
          'provider_unavailable',
          'Google IAM Credentials could not be reached',
          {
            cause: err,
            headers: { 'Retry-After': '30' },
          },
        );
      });
    await this.audit.record({
      ...callerActor(caller),
      action: 'gcp.service_account_token',
      outcome: 'success',
      connectionId: id,
      provider: 'gcp',
      requestId: req.id,
      details: { service_account: email, access: account.access },
    });
    return {
      access_token: minted.accessToken,
      token_type: 'Bearer',
      expires_at: new Date(minted.expireTime).toISOString(),
      scope: scopes.join(' '),
      service_account: email,
    };
  }

  private async accountsOf(caller: Caller, id: string) {
    const connection = await this.connections.findOwned(caller, id);
    if (connection.provider !== 'gcp' || connection.status === 'revoked') {
      throw new BrokerError('not_found', 'No such connection');
    }
    const run = await this.runs.findLatest(connection.id);
    const state = (run?.result?.steps as Record<string, unknown> | undefined)?.service_accounts as
      ServiceAccountsState | undefined;
    if (!state) return [];
    return Object.entries(state.accounts).flatMap(([level, account]) =>
      account
        ? [
            {
              email: account.email,
              access: ACCESS[level] ?? 'read_only',
              project_id: state.root_project_id,
            },
          ]
        : [],
    );
  }
}
