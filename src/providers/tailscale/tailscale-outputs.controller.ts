import { Controller, Get, Header, Inject, Req } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { AuditService } from '../../audit/audit.service';
import { type Caller, callerActor, callerHasScope } from '../../auth/caller';
import { CurrentCaller, RequireScopes } from '../../auth/decorators';
import { BrokerError } from '../../common/error-codes';
import { ConnectionsService } from '../../connections/connections.service';
import { type ConnectionEntity } from '../../database/entities';
import {
  ZodParam,
  ZodResponse,
  dateTimeString,
  responseSchema,
  uuidString,
} from '../../openapi/contract';
import { problemResponses } from '../../openapi/schemas';
import {
  SECRET_STORE,
  type SecretStore,
  SecretStoreError,
  secretStoreUnavailable,
} from '../../secrets/secret-store';
import { TAILSCALE_AUTH_KEY_ID, tailscaleSetupSecretPath } from './setup/tailscale-setup.steps';

const connectionId = uuidString.describe('The Tailscale connection');

export const tailscaleAuthKeyView = responseSchema(
  'TailscaleAuthKey',
  z.object({
    auth_key: z
      .string()
      .describe(
        'A reusable, preauthorized key tagged TAILSCALE_TAG, for `tailscale up --auth-key`',
      ),
    auth_key_id: z.string(),
    expires_at: dateTimeString.nullable(),
  }),
);

export const sshKeyView = responseSchema(
  'SshKey',
  z.object({
    public_key: z.string().describe('OpenSSH format (ssh-ed25519 …)'),
    private_key: z
      .string()
      .optional()
      .describe(
        'OpenSSH format; only for callers with tokens:read (a person, or a key/token with it)',
      ),
  }),
);

/**
 * What Tailscale setup made, for the caller to use (SPEC §14): the auth key and the SSH key
 * pair, read from the connection's setup secret. Reads of a credential: `tokens:read` for the
 * auth key and the private key, audited like a token read; never cached.
 */
@ApiTags('tailscale')
@ApiBearerAuth()
@Controller('connections')
export class TailscaleOutputsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly audit: AuditService,
    @Inject(SECRET_STORE) private readonly secrets: SecretStore,
  ) {}

  @Get(':id/tailscale/auth-key')
  @RequireScopes('tokens:read')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'getTailscaleAuthKey',
    summary: 'The auth key Tailscale setup made for this connection (tokens:read)',
  })
  @ZodResponse(200, tailscaleAuthKeyView)
  @problemResponses(401, 403, 404, 503)
  async authKey(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionId) id: string,
    @Req() req: FastifyRequest,
  ): Promise<z.output<typeof tailscaleAuthKeyView>> {
    const { connection, setup } = await this.setupOf(caller, id);
    const key = setup?.auth_key;
    if (!key)
      throw new BrokerError('not_found', 'Setup has not made an auth key for this connection yet');
    await this.record(caller, connection, 'tailscale.auth_key_read', req.id);
    return {
      auth_key: key,
      auth_key_id: setup[TAILSCALE_AUTH_KEY_ID] ?? '',
      expires_at: setup.auth_key_expires_at ?? null,
    };
  }

  @Get(':id/ssh-key')
  @Header('Cache-Control', 'no-store')
  @ApiOperation({
    operationId: 'getSshKey',
    summary: 'The SSH key pair setup made: the public key, and the private key for tokens:read',
  })
  @ZodResponse(200, sshKeyView)
  @problemResponses(401, 403, 404, 503)
  async sshKey(
    @CurrentCaller() caller: Caller,
    @ZodParam('id', connectionId) id: string,
    @Req() req: FastifyRequest,
  ): Promise<z.output<typeof sshKeyView>> {
    const { connection, setup } = await this.setupOf(caller, id);
    if (!setup?.ssh_public_key) {
      throw new BrokerError('not_found', 'Setup has not made an SSH key for this connection yet');
    }
    if (!callerHasScope(caller, 'tokens:read') || !setup.ssh_private_key) {
      return { public_key: setup.ssh_public_key };
    }
    await this.record(caller, connection, 'tailscale.ssh_private_key_read', req.id);
    return { public_key: setup.ssh_public_key, private_key: setup.ssh_private_key };
  }

  /** The caller's Tailscale connection and its setup secret; any other id is 404. */
  private async setupOf(caller: Caller, id: string) {
    const connection = await this.connections.findOwned(caller, id);
    if (connection.provider !== 'tailscale' || connection.status === 'revoked') {
      throw new BrokerError('not_found', 'No such connection');
    }
    const setup = await this.secrets
      .read(tailscaleSetupSecretPath(connection.id))
      .catch((err: unknown) => {
        throw err instanceof SecretStoreError ? secretStoreUnavailable(err) : err;
      });
    return { connection, setup: setup?.reveal() ?? null };
  }

  private record(caller: Caller, connection: ConnectionEntity, action: string, requestId: string) {
    return this.audit.record({
      ...callerActor(caller),
      action,
      outcome: 'success',
      connectionId: connection.id,
      provider: connection.provider,
      requestId,
    });
  }
}
