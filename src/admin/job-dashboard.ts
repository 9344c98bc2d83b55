import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { type FastifyInstance } from 'fastify';
import { AdminAuthenticator } from '../auth/admin-authenticator';
import { AuthFailureLimiter } from '../auth/auth-failure-limiter';
import { adminOnRequestHook } from '../auth/admin-hook';
import { SessionAuthenticator } from '../auth/session-authenticator';
import { JobDashboardQueues } from './job-dashboard.queues';

export const JOB_DASHBOARD_PATH = '/admin/queues';

/**
 * Bull Board at /admin/queues, for every queue. It is a Fastify plugin, outside Nest's guards, so
 * it sits in its own encapsulated scope whose onRequest hook admits admins only (an API key with
 * `admin`, HTTP Basic so a browser can open it, or the session of a person in ADMIN_USERS) — its
 * static assets included.
 */
export async function mountJobDashboard(app: NestFastifyApplication): Promise<void> {
  const serverAdapter = new FastifyAdapter().setBasePath(JOB_DASHBOARD_PATH);
  createBullBoard({
    queues: app.get(JobDashboardQueues).queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Credential broker jobs' } },
  });
  const hook = adminOnRequestHook(
    app.get(AdminAuthenticator),
    app.get(AuthFailureLimiter),
    app.get(SessionAuthenticator),
  );
  await app.register(async (scope: FastifyInstance) => {
    scope.addHook('onRequest', hook);
    await scope.register(serverAdapter.registerPlugin(), { prefix: JOB_DASHBOARD_PATH });
  });
}
