import { Injectable, type OnModuleInit, Optional } from '@nestjs/common';
import { ConnectionChanges } from './connection-changes';
import { type ConnectionEntity } from '../database/entities';
import { Clock, SYSTEM_CLOCK } from '../common/clock';

/** A row lives this long at most, even if a change message were lost. */
const TTL_MS = 2_000;
const MAX_ENTRIES = 10_000;

/** What a reader holds between asking Postgres and caching the answer. */
export interface RowCacheTicket {
  readonly id: string;
  readonly generation: number;
}

/**
 * Connection rows for the token read path, per process. Every writer publishes a change
 * (ConnectionChanges) and the entry is dropped at once, so a revoke or a refresh elsewhere is seen
 * on the next read; the TTL bounds the damage of a lost message. Saves the Postgres round trip
 * that dominated a token read (bench/, token read).
 *
 * A read racing a change must not cache what it read before the change: a reader takes a
 * {@link RowCacheTicket} before its query, every change bumps the id's generation, and `set`
 * drops a row whose ticket is older than the generation now.
 */
@Injectable()
export class ConnectionRowCache implements OnModuleInit {
  private readonly rows = new Map<string, { row: ConnectionEntity; until: number }>();
  /** Generations of recently changed ids; the epoch moves when everything is forgotten. */
  private readonly generations = new Map<string, number>();
  private epoch = 0;
  private counter = 0;

  constructor(
    private readonly changes: ConnectionChanges,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.changes.subscribe((id) => (id === null ? this.forgetAll() : this.forget(id)));
  }

  get(id: string, now = this.clock.now()): ConnectionEntity | undefined {
    const entry = this.rows.get(id);
    if (!entry) return undefined;
    if (entry.until <= now) {
      this.rows.delete(id);
      return undefined;
    }
    return entry.row;
  }

  /** Taken before reading the row from Postgres; `set` honours it. */
  ticket(id: string): RowCacheTicket {
    return { id, generation: this.generationOf(id) };
  }

  set(row: ConnectionEntity, now = this.clock.now(), ticket?: RowCacheTicket): void {
    // The row changed (or everything was forgotten) after this reader asked Postgres.
    if (ticket && ticket.generation !== this.generationOf(row.id)) return;
    this.rows.delete(row.id);
    if (this.rows.size >= MAX_ENTRIES) {
      const oldest = this.rows.keys().next().value;
      if (oldest !== undefined) this.rows.delete(oldest);
    }
    this.rows.set(row.id, { row, until: now + TTL_MS });
  }

  forget(id: string): void {
    this.rows.delete(id);
    this.generations.delete(id);
    // Re-inserted at the end, so the map stays in the order of the changes (oldest first).
    this.generations.set(id, ++this.counter);
    if (this.generations.size > MAX_ENTRIES) {
      // A ticket is held for one query: generations older than the cache's bound are moot, but
      // forgetting one must not make an old ticket valid again, so the epoch moves too.
      const oldest = this.generations.keys().next().value;
      if (oldest !== undefined) this.generations.delete(oldest);
      this.epoch = ++this.counter;
    }
  }

  private forgetAll(): void {
    this.rows.clear();
    this.generations.clear();
    this.epoch = ++this.counter;
  }

  private generationOf(id: string): number {
    return Math.max(this.generations.get(id) ?? 0, this.epoch);
  }
}
