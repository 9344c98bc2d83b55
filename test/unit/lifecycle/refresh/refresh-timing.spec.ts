import {
  BACKOFF_CAP_SECONDS,
  failureBackoffMs as backoffMs,
  isInWindow,
  isServable,
  scheduleJitterMs,
} from '../../../../src/lifecycle/refresh/refresh-timing';

describe('refresh timing', () => {
  const lowest = () => 0;
  const highest = () => 0.999999;

  it('backs off 30 s doubling per failure, capped at one hour', () => {
    const nominal = [30, 60, 120, 240, 480, 960, 1920, 3600, 3600];
    nominal.forEach((seconds, i) => {
      expect(backoffMs(i + 1, highest)).toBeCloseTo(seconds * 1000, -1);
      expect(backoffMs(i + 1, lowest)).toBe((seconds * 1000) / 2);
    });
    expect(backoffMs(1000, highest)).toBeLessThanOrEqual(BACKOFF_CAP_SECONDS * 1000);
    expect(backoffMs(0, highest)).toBeCloseTo(30_000, -1);
  });

  it('jitters the backoff within [d/2, d]', () => {
    const samples = Array.from({ length: 500 }, () => backoffMs(3));
    expect(Math.min(...samples)).toBeGreaterThanOrEqual(60_000);
    expect(Math.max(...samples)).toBeLessThanOrEqual(120_000);
    expect(new Set(samples).size).toBeGreaterThan(100);
  });

  it('knows the window and what may still be served', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(isInWindow(new Date(now + 299_000), 300, now)).toBe(true);
    expect(isInWindow(new Date(now + 301_000), 300, now)).toBe(false);
    expect(isInWindow(null, 300, now)).toBe(true);
    expect(isServable(new Date(now + 60_000), now)).toBe(true);
    expect(isServable(new Date(now + 2_000), now)).toBe(false);
    expect(isServable(null, now)).toBe(false);
  });

  it('spreads scheduled refreshes over the first half of the window, none when urgent', () => {
    const now = 1_000_000;
    const enteringWindow = new Date(now + 300_000);
    expect(scheduleJitterMs(enteringWindow, 300, now, lowest)).toBe(0);
    expect(scheduleJitterMs(enteringWindow, 300, now, highest)).toBeLessThan(150_000);
    expect(scheduleJitterMs(enteringWindow, 300, now, highest)).toBeGreaterThan(149_000);
    expect(scheduleJitterMs(new Date(now + 100_000), 300, now, highest)).toBe(0);
    expect(scheduleJitterMs(new Date(now - 5_000), 300, now, highest)).toBe(0);
  });
});
