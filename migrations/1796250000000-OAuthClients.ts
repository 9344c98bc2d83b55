import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * oauth_clients: clients of the broker's authorization server that are not built in (SPEC §11):
 * dynamically registered public clients and admin-made service clients, whose secret is kept as
 * a SHA-256 only.
 */
export class OAuthClients1796250000000 implements MigrationInterface {
  name = 'OAuthClients1796250000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "oauth_clients" (
                "client_id" text NOT NULL,
                "kind" text NOT NULL,
                "metadata" jsonb NOT NULL,
                "secret_hash" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "PK_oauth_clients_client_id" PRIMARY KEY ("client_id")
            )
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "oauth_clients"`);
  }
}
