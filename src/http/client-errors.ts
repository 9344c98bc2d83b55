import { randomUUID } from 'node:crypto';
import { type Socket } from 'node:net';
import { type ErrorCode } from '../common/error-codes';
import { PROBLEM_CONTENT_TYPE, toProblem } from '../common/problem';
import { API_CSP } from './security-headers';

/** Longer request targets answer 414 `uri_too_long` (Node's own limit, 16 KiB of headers, is 431). */
export const MAX_URL_LENGTH = 8192;

/**
 * Fastify's `clientErrorHandler`: errors Node's HTTP parser raises before there is a request
 * (headers over `maxHeaderSize`, a malformed request line, a timeout). Fastify's default answers
 * them in its own JSON shape; this answers problem+json like every other error (SPEC §8).
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy(err);
    return;
  }
  const [status, code, detail]: [number, ErrorCode, string] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'headers_too_large', 'The request headers (or the URL) are larger than the limit']
      : err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request_timeout', 'The request took too long to arrive']
        : [400, 'validation_failed', 'The request is malformed'];
  const requestId = randomUUID();
  const body = JSON.stringify(toProblem({ code, status, detail, unexpected: false }, requestId));
  const reason = {
    400: 'Bad Request',
    408: 'Request Timeout',
    431: 'Request Header Fields Too Large',
  }[status];
  socket.end(
    [
      `HTTP/1.1 ${status} ${reason}`,
      `Content-Type: ${PROBLEM_CONTENT_TYPE}`,
      `Content-Length: ${Buffer.byteLength(body)}`,
      'X-Content-Type-Options: nosniff',
      'Cache-Control: no-store',
      `Content-Security-Policy: ${API_CSP}`,
      `X-Request-Id: ${requestId}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n'),
  );
}
