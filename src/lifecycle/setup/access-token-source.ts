import { type ConnectionEntity } from '../../database/entities';

/**
 * Where setup gets a connection's access token: the token service, which refreshes when the
 * token is due. Jobs carry only the connection id, so a token never sits in Redis.
 */
export interface AccessTokenSource {
  accessToken(connection: ConnectionEntity): Promise<string>;
}

export const ACCESS_TOKEN_SOURCE = Symbol('ACCESS_TOKEN_SOURCE');
