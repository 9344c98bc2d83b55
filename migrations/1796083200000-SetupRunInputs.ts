import { type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * setup_runs speaks of steps, inputs and results only: GCP's project `selection` becomes the
 * run's `inputs` (`{ "project_ids": [...] }`), and `eligible_projects` goes, since it is derived
 * from what list_projects keeps in the run's result (`result.steps.list_projects.projects`).
 */
export class SetupRunInputs1796083200000 implements MigrationInterface {
  name = 'SetupRunInputs1796083200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "setup_runs" ADD "inputs" jsonb`);
    await queryRunner.query(
      `UPDATE "setup_runs" SET "inputs" = jsonb_build_object('project_ids', "selection") WHERE "selection" IS NOT NULL`,
    );
    await queryRunner.query(`ALTER TABLE "setup_runs" DROP COLUMN "selection"`);
    await queryRunner.query(`ALTER TABLE "setup_runs" DROP COLUMN "eligible_projects"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "setup_runs" ADD "eligible_projects" jsonb`);
    await queryRunner.query(`ALTER TABLE "setup_runs" ADD "selection" jsonb`);
    await queryRunner.query(
      `UPDATE "setup_runs" SET "selection" = "inputs"->'project_ids' WHERE "inputs" ? 'project_ids'`,
    );
    await queryRunner.query(
      `UPDATE "setup_runs" SET "eligible_projects" = (SELECT jsonb_agg(jsonb_build_object('project_id', p->'project_id', 'name', p->'name', 'billing_enabled', p->'billing_enabled')) FROM jsonb_array_elements("result"->'steps'->'list_projects'->'projects') AS p) WHERE "result"->'steps'->'list_projects' ? 'projects'`,
    );
    await queryRunner.query(`ALTER TABLE "setup_runs" DROP COLUMN "inputs"`);
  }
}
