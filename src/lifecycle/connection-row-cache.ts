import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ConnectionChanges } from './connection-changes';
import { type ConnectionEntity } from '../database/entities';

/** A row lives this long at most, even if a change message were lost. */
const TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

/**
 * Connection rows for the token read path, per process. Every writer publishes a change
 * (ConnectionChanges) and the entry is dropped at once, so a revoke or a refresh elsewhere is seen
 * on the next read; the TTL bounds the damage of a lost message. Saves the Postgres round trip
 * that dominated a token read (bench/, token read).
 */
@Injectable()
export class ConnectionRowCache implements OnModuleInit {
  private readonly rows = new Map<string, { row: ConnectionEntity; until: number }>();

  constructor(private readonly changes: ConnectionChanges) {}

  async onModuleInit(): Promise<void> {
    await this.changes.subscribe((id) => (id === null ? this.rows.clear() : this.rows.delete(id)));
  }

  get(id: string, now = Date.now()): ConnectionEntity | undefined {
    const entry = this.rows.get(id);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.rows.delete(id);
      return undefined;
    }
    return entry.row;
  }

  set(row: ConnectionEntity, now = Date.now()): void {
    this.rows.delete(row.id);
    if (this.rows.size >= MAX_ENTRIES) {
      const oldest = this.rows.keys().next().value;
      if (oldest !== undefined) this.rows.delete(oldest);
    }
    this.rows.set(row.id, { row, until: now + TTL_MS });
  }
}
