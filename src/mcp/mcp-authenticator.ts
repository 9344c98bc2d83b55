import { Inject, Injectable, Optional } from '@nestjs/common';
import { type FastifyRequest } from 'fastify';
import { AuthFailureAudit } from '../auth/auth-failure-audit';
import { AuthFailureLimiter } from '../auth/auth-failure-limiter';
import { parseAuthorization } from '../auth/authorization-header';
import { BrokerTokenVerifier } from '../auth/broker-tokens';
import { type Caller } from '../auth/caller';
import { BrokerError } from '../common/error-codes';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { type BearerError, bearerChallenge, mcpResource } from './protected-resource';

/** A caller of /mcp: always a person, through a client the authorization server knows. */
export type McpCaller = Extract<Caller, { kind: 'user' }> & {
  oauth: NonNullable<Extract<Caller, { kind: 'user' }>['oauth']>;
};

/**
 * Who is calling /mcp (SPEC §12). Only an access token of the broker's own authorization server
 * whose audience is PUBLIC_URL/mcp: not the API's audience (a token meant for the API must not
 * drive tools, nor the reverse), not a user JWT of the configured identity provider, not an API
 * key, not the session cookie (a page of another site could otherwise make a signed-in
 * person's browser call tools). The global guard is bypassed for /mcp because every refusal
 * here carries the RFC 9728 challenge a client discovers the authorization server from.
 */
@Injectable()
export class McpAuthenticator {
  private readonly publicUrl: string;
  private readonly audience: string;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly tokens: BrokerTokenVerifier,
    private readonly failures: AuthFailureAudit,
    // `@Inject`: a `| null` type is emitted as Object, which Nest cannot resolve by itself.
    @Optional() @Inject(AuthFailureLimiter) private readonly limiter?: AuthFailureLimiter | null,
  ) {
    this.publicUrl = config.publicUrl;
    this.audience = mcpResource(config.publicUrl);
  }

  async authenticate(request: FastifyRequest): Promise<McpCaller> {
    const presented = parseAuthorization(request.headers.authorization);
    if (presented === null) throw this.unauthenticated('an access token is required');
    if (presented.scheme !== 'jwt') {
      throw this.unauthenticated(
        'the MCP endpoint takes an access token of this broker (audience PUBLIC_URL/mcp), not an API key or a password',
        { error: 'invalid_token', description: 'not an access token of this broker' },
      );
    }
    // As in the global guard: an address that failed too often is refused before it costs more.
    const source = request.ip;
    await this.limiter?.assertAllowed(source);
    try {
      const claims = await this.tokens.verify(presented.token, this.audience);
      return {
        kind: 'user',
        userId: claims.userId,
        oauth: { clientId: claims.clientId, scopes: claims.scopes },
      };
    } catch (err) {
      if (!(err instanceof BrokerError) || err.code !== 'unauthenticated') throw err;
      this.failures.record(
        { method: 'jwt', errorCode: 'unauthenticated', reason: 'MCP token is not valid' },
        source,
      );
      await this.limiter?.recordFailure(source);
      const reason = err.detail ?? 'the token is not valid';
      throw this.unauthenticated(reason, { error: 'invalid_token', description: reason });
    }
  }

  /** 403 with the step-up challenge: the client may ask the person for `scopes` and retry. */
  insufficientScope(scopes: readonly string[]): BrokerError {
    const description = `this call needs the scope ${scopes.join(' and ')}`;
    return new BrokerError('forbidden', description, {
      headers: {
        'WWW-Authenticate': bearerChallenge(this.publicUrl, {
          error: 'insufficient_scope',
          description,
          scope: scopes,
        }),
      },
    });
  }

  private unauthenticated(detail: string, problem?: BearerError): BrokerError {
    return new BrokerError('unauthenticated', detail, {
      headers: { 'WWW-Authenticate': bearerChallenge(this.publicUrl, problem) },
    });
  }
}
