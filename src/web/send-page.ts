import { type FastifyReply } from 'fastify';
import { type SafeHtml } from './html';

/** An HTML answer of the page: never cached (it shows a person's connections). */
export function sendPage(reply: FastifyReply, status: number, page: SafeHtml): void {
  void reply
    .status(status)
    .header('Cache-Control', 'no-store')
    .type('text/html; charset=utf-8')
    .send(page.value);
}

/** Post/Redirect/Get: a 303 so the browser GETs the outcome. */
export function seeOther(reply: FastifyReply, location: string): void {
  void reply.header('Cache-Control', 'no-store').redirect(location, 303);
}
