import { Inject, Injectable, Optional } from '@nestjs/common';
import { Webhook } from 'standardwebhooks';
import { APP_CONFIG, type AppConfig } from '../config/config';
import { type WebhookBody } from './webhook-events';
import { Clock, SYSTEM_CLOCK } from '../common/clock';

/** What one delivery attempt came to: delivered, or a short reason (never a response body). */
export type SendResult = { ok: true; status: number } | { ok: false; reason: string };

/**
 * POSTs one event to WEBHOOK_URL, signed as Standard Webhooks by the `standardwebhooks` library:
 * `webhook-id` (the same on every attempt), `webhook-timestamp` (this attempt's time, which the
 * receiver checks against its clock) and `webhook-signature`. Only a 2xx counts; a redirect is
 * never followed (a 3xx is a failure), so a body goes nowhere but the configured URL.
 */
@Injectable()
export class WebhookSender {
  private readonly signer?: Webhook;
  private readonly url?: string;
  private readonly timeoutMs: number;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Optional() private readonly clock: Clock = SYSTEM_CLOCK,
  ) {
    this.url = config.webhooks.url;
    this.timeoutMs = config.webhooks.timeoutMs;
    if (config.webhooks.secret) this.signer = new Webhook(config.webhooks.secret);
  }

  async send(
    messageId: string,
    body: WebhookBody,
    now: Date = this.clock.date(),
  ): Promise<SendResult> {
    if (!this.url || !this.signer) return { ok: false, reason: 'webhooks_disabled' };
    const payload = JSON.stringify(body);
    const headers = {
      'content-type': 'application/json',
      'user-agent': 'credential-broker',
      'webhook-id': messageId,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': this.signer.sign(messageId, now, payload),
    };
    try {
      const res = await fetch(this.url, {
        method: 'POST',
        headers,
        body: payload,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
      // The body is not read, only released: a receiver's answer never reaches a log or a row.
      await res.body?.cancel().catch(() => undefined);
      return res.status >= 200 && res.status < 300
        ? { ok: true, status: res.status }
        : { ok: false, reason: `http_${res.status}` };
    } catch (err) {
      return { ok: false, reason: failureReason(err) };
    }
  }
}

function failureReason(err: unknown): string {
  // By name, not instanceof: the abort's DOMException may come from another realm.
  const e = (err ?? {}) as { name?: unknown; cause?: { code?: unknown } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  const code = e.cause?.code;
  if (typeof code === 'string' && /^[A-Z_]{2,40}$/.test(code)) return code.toLowerCase();
  return 'network_error';
}
