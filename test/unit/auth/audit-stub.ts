import { type AuditInput } from '../../../src/audit/audit.service';

/** Collects audit rows in memory, for asserting what a failure recorded (and what it did not). */
export class AuditStub {
  readonly rows: AuditInput[] = [];

  async record(input: AuditInput): Promise<void> {
    this.rows.push(input);
  }

  /** The rows as one string, for "never contains the secret" assertions. */
  text(): string {
    return JSON.stringify(this.rows);
  }
}
