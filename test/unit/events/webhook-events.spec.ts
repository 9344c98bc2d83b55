import { CONNECTION_STATUSES, type ConnectionStatus } from '../../../src/database/enums';
import {
  statusChangeEvent,
  webhookBody,
  webhookMessageId,
} from '../../../src/events/webhook-events';

describe('which status change raises which webhook (SPEC §14)', () => {
  const expected: Record<ConnectionStatus, Record<ConnectionStatus, string | null>> = {
    active: {
      active: null,
      refresh_failing: 'connection.refresh_failing',
      needs_reauth: 'connection.needs_reauth',
      revoked: 'connection.revoked',
    },
    refresh_failing: {
      active: 'connection.recovered',
      refresh_failing: null, // another failed retry is not news
      needs_reauth: 'connection.needs_reauth',
      revoked: 'connection.revoked',
    },
    needs_reauth: {
      active: 'connection.recovered',
      refresh_failing: 'connection.refresh_failing',
      needs_reauth: null,
      revoked: 'connection.revoked',
    },
    revoked: {
      active: null, // only a reconnect revives a row, and that is connection.reconnected
      refresh_failing: 'connection.refresh_failing',
      needs_reauth: 'connection.needs_reauth',
      revoked: null,
    },
  };

  const pairs = CONNECTION_STATUSES.flatMap((from) => CONNECTION_STATUSES.map((to) => [from, to]));
  it.each(pairs)('%s → %s', (from, to) => {
    expect(statusChangeEvent(from, to)).toBe(expected[from][to]);
  });

  it('a successful refresh of an active connection raises nothing', () => {
    expect(statusChangeEvent('active', 'active')).toBeNull();
  });
});

describe('the webhook body', () => {
  it('is { id, type, created_at, data } with the same id as the webhook-id header', () => {
    const id = '0b6f2a8e-6a57-4b8e-9d1a-3c1f7d9e2b10';
    const body = webhookBody({
      id,
      type: 'connection.connected',
      createdAt: new Date('2026-01-02T03:04:05.000Z'),
      payload: { connection: { id: 'c' } },
    });
    expect(body).toEqual({
      id: webhookMessageId(id),
      type: 'connection.connected',
      created_at: '2026-01-02T03:04:05.000Z',
      data: { connection: { id: 'c' } },
    });
    expect(body.id).toBe(`msg_${id}`);
  });
});
