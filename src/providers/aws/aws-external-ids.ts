import { randomBytes } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { ExternalIdsRepository } from '../../database/repositories/external-ids.repository';

/** `cbk-` and 32 random hex digits: unguessable, so nobody can name another user's id. */
export function newExternalId(): string {
  return `cbk-${randomBytes(16).toString('hex')}`;
}

/** A user's AWS external id (SPEC §13): made by the broker on first use, never changed. */
@Injectable()
export class AwsExternalIds {
  constructor(private readonly ids: ExternalIdsRepository) {}

  of(userId: string): Promise<string> {
    return this.ids.findOrCreate(userId, 'aws', newExternalId);
  }
}
