import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * pending_claims: a consent held until the user who started the login claims it (SPEC §5), so a
 * login_url passed to someone else cannot connect their account to the sender. The claim code
 * is kept as a SHA-256 only; the token set waits in the secret store at secret_path.
 */
export class PendingClaims1796168604933 implements MigrationInterface {
  name = 'PendingClaims1796168604933';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            CREATE TABLE "pending_claims" (
                "id" uuid NOT NULL DEFAULT gen_random_uuid(),
                "claim_hash" text NOT NULL,
                "user_id" text NOT NULL,
                "provider" text NOT NULL,
                "account_ref" text NOT NULL,
                "display_name" text,
                "metadata" jsonb NOT NULL DEFAULT '{}',
                "scopes" text array NOT NULL DEFAULT '{}',
                "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "secret_path" text NOT NULL,
                "claim_expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
                "taken_at" TIMESTAMP WITH TIME ZONE,
                "outcome" text,
                "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
                CONSTRAINT "CHK_pending_claims_outcome" CHECK ("outcome" IN ('claimed', 'refused', 'expired')),
                CONSTRAINT "CHK_pending_claims_provider" CHECK (
                    "provider" IN ('gcp', 'azure', 'tailscale', 'ovh')
                ),
                CONSTRAINT "PK_29eeb9f4ebc1abacb2efefcd4e3" PRIMARY KEY ("id")
            )
        `);
    await queryRunner.query(`
            CREATE UNIQUE INDEX "UQ_pending_claims_claim_hash" ON "pending_claims" ("claim_hash")
        `);
    await queryRunner.query(`
            CREATE INDEX "IDX_pending_claims_claim_expires_at" ON "pending_claims" ("claim_expires_at")
        `);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
            DROP INDEX "public"."IDX_pending_claims_claim_expires_at"
        `);
    await queryRunner.query(`
            DROP INDEX "public"."UQ_pending_claims_claim_hash"
        `);
    await queryRunner.query(`
            DROP TABLE "pending_claims"
        `);
  }
}
