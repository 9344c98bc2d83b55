import { type ArgumentsHost, Catch, type ExceptionFilter, Logger } from '@nestjs/common';
import { type FastifyReply, type FastifyRequest } from 'fastify';
import { classifyError } from '../common/problem';
import { renderErrorPage } from './connect-page';
import { errorMessage } from './connect-page.service';
import { sendPage } from './send-page';

/**
 * Errors the connect page cannot draw itself (the guard refused, the page's own data failed):
 * an HTML page with the error in words and the error's status, never problem+json in a tab.
 */
@Catch()
export class WebErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('ConnectPage');

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    const classified = classifyError(err);
    if (classified.unexpected) {
      this.logger.error({ err, request_id: request.id }, 'unexpected error');
    }
    if (reply.sent) return;
    for (const [name, value] of Object.entries(classified.headers ?? {})) {
      if (name.toLowerCase() !== 'www-authenticate') void reply.header(name, value);
    }
    sendPage(reply, classified.status, renderErrorPage(errorMessage(err)));
  }
}
