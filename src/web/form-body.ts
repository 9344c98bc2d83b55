import { type NestFastifyApplication } from '@nestjs/platform-fastify';
import { BrokerError } from '../common/error-codes';
import { isConnectPath } from './connect-csp';

const FORM_TYPE = 'application/x-www-form-urlencoded';

/** The authorization server's consent page posts its Allow and Deny forms here. */
const OAUTH_INTERACTION_PREFIX = '/oauth/interaction/';

/** The paths whose routes are posted to by the broker's own HTML forms. */
export function takesFormBodies(url: string): boolean {
  return isConnectPath(url) || url.startsWith(OAUTH_INTERACTION_PREFIX);
}

/**
 * An HTML form's fields; a repeated name (checkboxes) becomes a list. `__proto__` is dropped, as
 * a JSON body's would be refused: copied onto an object it would replace its prototype.
 */
export function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of new URLSearchParams(text)) {
    if (name === '__proto__') continue;
    const seen = Object.hasOwn(out, name) ? out[name] : undefined;
    out[name] = seen === undefined ? value : [...(Array.isArray(seen) ? seen : [seen]), value];
  }
  return out;
}

/**
 * Form bodies are for the broker's pages only (the connect page, the consent page). Nest would otherwise parse them on every route, so
 * the JSON API would take a cross-site HTML form post; there it stays 415 unsupported_media_type.
 * Call before `app.init()` (Nest then keeps this parser instead of its own).
 */
export function registerConnectFormParser(app: NestFastifyApplication, bodyLimit: number): void {
  app.useBodyParser(FORM_TYPE, { bodyLimit }, (req, body, done) => {
    if (!takesFormBodies(req.url)) {
      done(new BrokerError('unsupported_media_type', 'Send the body as application/json'));
      return;
    }
    done(null, parseForm(body.toString('utf8')));
  });
}
