import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Audit rows may end `partial`: a disconnect that removed some of what setup made upstream and
 * had to leave the rest (SPEC §14) is neither a success nor a failure.
 */
export class AuditPartialOutcome1796432400000 implements MigrationInterface {
  name = 'AuditPartialOutcome1796432400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "audit_events" DROP CONSTRAINT "CHK_audit_events_outcome"`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" ADD CONSTRAINT "CHK_audit_events_outcome" CHECK ("outcome" IN ('success', 'partial', 'failure'))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // The older schema has no word for it: a partial cleanup was a failure to clean up.
    await queryRunner.query(
      `UPDATE "audit_events" SET "outcome" = 'failure' WHERE "outcome" = 'partial'`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" DROP CONSTRAINT "CHK_audit_events_outcome"`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" ADD CONSTRAINT "CHK_audit_events_outcome" CHECK ("outcome" IN ('success', 'failure'))`,
    );
  }
}
