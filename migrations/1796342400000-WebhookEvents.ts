import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * webhook_events: the outbox of signed webhooks (SPEC §14). A row is inserted in the transaction
 * of the change that caused it; the worker's relay enqueues undelivered rows (the partial index),
 * and the delivery job marks them delivered or given up. No foreign key to connections: an event
 * outlives nothing it needs, and a delete elsewhere must never drop an undelivered event.
 */
export class WebhookEvents1796342400000 implements MigrationInterface {
  name = 'WebhookEvents1796342400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "webhook_events" (
                "id" uuid NOT NULL,
                "type" text NOT NULL,
                "connection_id" uuid NOT NULL,
                "payload" jsonb NOT NULL,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                "delivered_at" TIMESTAMP WITH TIME ZONE,
                "attempts" integer NOT NULL DEFAULT '0',
                "last_error" text,
                "given_up_at" TIMESTAMP WITH TIME ZONE,
                CONSTRAINT "CHK_webhook_events_type" CHECK (
                    "type" IN ('connection.connected', 'connection.reconnected', 'connection.needs_reauth', 'connection.refresh_failing', 'connection.recovered', 'connection.revoked', 'setup.finished')
                ),
                CONSTRAINT "PK_webhook_events_id" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_webhook_events_undelivered" ON "webhook_events" ("created_at")
            WHERE "delivered_at" IS NULL AND "given_up_at" IS NULL
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_webhook_events_connection" ON "webhook_events" ("connection_id", "created_at")
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."IDX_webhook_events_connection"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_webhook_events_undelivered"`);
    await queryRunner.query(`DROP TABLE "webhook_events"`);
  }
}
