import { type MigrationInterface, type QueryRunner } from 'typeorm';

const BEFORE = `'gcp', 'azure', 'tailscale', 'ovh'`;
const AFTER = `'gcp', 'azure', 'tailscale', 'ovh', 'aws'`;
const PROVIDER_CHECKS: [table: string, constraint: string][] = [
  ['connections', 'CHK_connections_provider'],
  ['oauth_states', 'CHK_oauth_states_provider'],
  ['pending_claims', 'CHK_pending_claims_provider'],
];

/**
 * AWS becomes a provider (SPEC §13), and `external_ids` keeps the id the broker makes for each
 * user at a provider on first use (AWS: the `sts:ExternalId` of the user's role trust policy).
 * Not a secret, unique, never changed: the user pasted it into a policy.
 */
export class ExternalIdsAndAws1796256000000 implements MigrationInterface {
  name = 'ExternalIdsAndAws1796256000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const [table, constraint] of PROVIDER_CHECKS) {
      await queryRunner.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${constraint}"`);
      await queryRunner.query(
        `ALTER TABLE "${table}" ADD CONSTRAINT "${constraint}" CHECK ("provider" IN (${AFTER}))`,
      );
    }
    await queryRunner.query(
      `CREATE TABLE "external_ids" ("user_id" text NOT NULL, "provider" text NOT NULL, "external_id" text NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "CHK_external_ids_provider" CHECK ("provider" IN (${AFTER})), CONSTRAINT "PK_external_ids" PRIMARY KEY ("user_id", "provider"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_external_ids_external_id" ON "external_ids" ("external_id") `,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "public"."UQ_external_ids_external_id"`);
    await queryRunner.query(`DROP TABLE "external_ids"`);
    // Rows of the provider the older schema does not know go first, as their checks would fail.
    for (const [table, constraint] of PROVIDER_CHECKS) {
      await queryRunner.query(`DELETE FROM "${table}" WHERE "provider" = 'aws'`);
      await queryRunner.query(`ALTER TABLE "${table}" DROP CONSTRAINT "${constraint}"`);
      await queryRunner.query(
        `ALTER TABLE "${table}" ADD CONSTRAINT "${constraint}" CHECK ("provider" IN (${BEFORE}))`,
      );
    }
  }
}
