import { type MigrationInterface, type QueryRunner } from 'typeorm';

const BEFORE = `'connection.connected', 'connection.reconnected', 'connection.needs_reauth', 'connection.refresh_failing', 'connection.recovered', 'connection.revoked', 'setup.finished'`;
const AFTER = `'connection.connected', 'connection.reconnected', 'connection.needs_reauth', 'connection.refresh_failing', 'connection.recovered', 'connection.revoked', 'connection.secret_expiring', 'setup.finished'`;

/**
 * `connection.secret_expiring` (SPEC §14): the worker raises it when a connection's client
 * secret (Azure) expires within 14 days. The outbox's type check learns the new word.
 */
export class SecretExpiringEvent1796428800000 implements MigrationInterface {
  name = 'SecretExpiringEvent1796428800000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "webhook_events" DROP CONSTRAINT "CHK_webhook_events_type"`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_events" ADD CONSTRAINT "CHK_webhook_events_type" CHECK ("type" IN (${AFTER}))`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // Rows of the type the older schema does not know go first, as its check would fail.
    await queryRunner.query(
      `DELETE FROM "webhook_events" WHERE "type" = 'connection.secret_expiring'`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_events" DROP CONSTRAINT "CHK_webhook_events_type"`,
    );
    await queryRunner.query(
      `ALTER TABLE "webhook_events" ADD CONSTRAINT "CHK_webhook_events_type" CHECK ("type" IN (${BEFORE}))`,
    );
  }
}
