import { Injectable } from '@nestjs/common';
import { type Caller, callerActor, requireActingUser } from '../auth/caller';
import { type ConnectionEntity } from '../database/entities';
import { PendingClaims } from '../lifecycle/pending-claims';

/**
 * POST /connections/claim: the caller's user claims a consent held by a provider callback
 * (SPEC §5). Only the user who started the login succeeds; see `PendingClaims.claim`.
 */
@Injectable()
export class ClaimService {
  constructor(private readonly claims: PendingClaims) {}

  claim(
    caller: Caller,
    claim: string,
    requestId?: string,
  ): Promise<{ connection: ConnectionEntity; created: boolean }> {
    return this.claims.claim({
      claim,
      userId: requireActingUser(caller),
      actor: callerActor(caller),
      requestId,
    });
  }
}
