import { type MigrationInterface, type QueryRunner } from 'typeorm';

export class InitialSchema1795465202674 implements MigrationInterface {
  name = 'InitialSchema1795465202674';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE TABLE "api_keys" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "name" text NOT NULL, "prefix" text NOT NULL, "key_hash" text NOT NULL, "scopes" text array NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "last_used_at" TIMESTAMP WITH TIME ZONE, "revoked_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "PK_5c8a79801b44bd27b79228e1dad" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_api_keys_key_hash" ON "api_keys" ("key_hash") `,
    );
    await queryRunner.query(
      `CREATE TABLE "audit_events" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "occurred_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "actor_type" text NOT NULL, "actor_id" text, "action" text NOT NULL, "connection_id" uuid, "provider" text, "outcome" text NOT NULL, "error_code" text, "request_id" text, "details" jsonb NOT NULL DEFAULT '{}', CONSTRAINT "CHK_audit_events_outcome" CHECK ("outcome" IN ('success', 'failure')), CONSTRAINT "CHK_audit_events_actor_type" CHECK ("actor_type" IN ('user', 'api_key', 'admin', 'system')), CONSTRAINT "PK_910f64d901a5c3e9878f0d4a407" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_audit_events_occurred_at" ON "audit_events" ("occurred_at") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_audit_events_connection" ON "audit_events" ("connection_id", "occurred_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "connections" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "user_id" text NOT NULL, "provider" text NOT NULL, "account_ref" text NOT NULL, "display_name" text, "status" text NOT NULL DEFAULT 'active', "setup_status" text NOT NULL DEFAULT 'pending', "scopes" text array NOT NULL DEFAULT '{}', "expires_at" TIMESTAMP WITH TIME ZONE, "last_refreshed_at" TIMESTAMP WITH TIME ZONE, "refresh_failures" integer NOT NULL DEFAULT '0', "last_error_code" text, "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "metadata" jsonb NOT NULL DEFAULT '{}', "vault_path" text NOT NULL, "vault_version" integer NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "UQ_connections_owner_account" UNIQUE ("user_id", "provider", "account_ref"), CONSTRAINT "CHK_connections_setup_status" CHECK ("setup_status" IN ('pending', 'running', 'needs_selection', 'succeeded', 'partial', 'failed', 'not_applicable')), CONSTRAINT "CHK_connections_status" CHECK ("status" IN ('active', 'refresh_failing', 'needs_reauth', 'revoked')), CONSTRAINT "CHK_connections_provider" CHECK ("provider" IN ('gcp', 'azure', 'tailscale', 'ovh')), CONSTRAINT "PK_0a1f844af3122354cbd487a8d03" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_connections_user_list" ON "connections" ("user_id", "created_at", "id") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_connections_refresh_due" ON "connections" ("status", "expires_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "local_secrets" ("path" text NOT NULL, "version" integer NOT NULL, "nonce" bytea NOT NULL, "ciphertext" bytea NOT NULL, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "PK_11ea6ce95c6d5114eaff186da0b" PRIMARY KEY ("path", "version"))`,
    );
    await queryRunner.query(
      `CREATE TABLE "oauth_states" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "state_hash" text NOT NULL, "provider" text NOT NULL, "user_id" text NOT NULL, "code_verifier_sealed" text NOT NULL, "redirect_to" text, "context" jsonb NOT NULL DEFAULT '{}', "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL, "consumed_at" TIMESTAMP WITH TIME ZONE, "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), CONSTRAINT "CHK_oauth_states_provider" CHECK ("provider" IN ('gcp', 'azure', 'tailscale', 'ovh')), CONSTRAINT "PK_c9df6e4203e8ca042bfe5bd00ec" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE UNIQUE INDEX "UQ_oauth_states_state_hash" ON "oauth_states" ("state_hash") `,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_oauth_states_expires_at" ON "oauth_states" ("expires_at") `,
    );
    await queryRunner.query(
      `CREATE TABLE "setup_runs" ("id" uuid NOT NULL DEFAULT gen_random_uuid(), "connection_id" uuid NOT NULL, "status" text NOT NULL DEFAULT 'pending', "progress" integer NOT NULL DEFAULT '0', "current_step" text, "steps" jsonb NOT NULL DEFAULT '[]', "result" jsonb, "error_code" text, "eligible_projects" jsonb, "selection" jsonb, "attempts" integer NOT NULL DEFAULT '0', "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(), "finished_at" TIMESTAMP WITH TIME ZONE, CONSTRAINT "CHK_setup_runs_status" CHECK ("status" IN ('pending', 'running', 'needs_selection', 'succeeded', 'partial', 'failed', 'not_applicable')), CONSTRAINT "PK_5a2d6574aa7c3c89c89cb774835" PRIMARY KEY ("id"))`,
    );
    await queryRunner.query(
      `CREATE INDEX "IDX_setup_runs_connection" ON "setup_runs" ("connection_id", "created_at") `,
    );
    await queryRunner.query(
      `ALTER TABLE "setup_runs" ADD CONSTRAINT "FK_setup_runs_connection" FOREIGN KEY ("connection_id") REFERENCES "connections"("id") ON DELETE CASCADE ON UPDATE NO ACTION`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "setup_runs" DROP CONSTRAINT "FK_setup_runs_connection"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_setup_runs_connection"`);
    await queryRunner.query(`DROP TABLE "setup_runs"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_oauth_states_expires_at"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_oauth_states_state_hash"`);
    await queryRunner.query(`DROP TABLE "oauth_states"`);
    await queryRunner.query(`DROP TABLE "local_secrets"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_connections_refresh_due"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_connections_user_list"`);
    await queryRunner.query(`DROP TABLE "connections"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_audit_events_connection"`);
    await queryRunner.query(`DROP INDEX "public"."IDX_audit_events_occurred_at"`);
    await queryRunner.query(`DROP TABLE "audit_events"`);
    await queryRunner.query(`DROP INDEX "public"."UQ_api_keys_key_hash"`);
    await queryRunner.query(`DROP TABLE "api_keys"`);
  }
}
