import { Semaphore } from '../../../src/common/semaphore';

describe('Semaphore', () => {
  it('runs at most `size` callers at once, the rest in arrival order, and frees slots on failure', async () => {
    const gate = new Semaphore(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (n: number, fail = false) =>
      gate.run(async () => {
        running++;
        peak = Math.max(peak, running);
        order.push(n);
        await new Promise((r) => setTimeout(r, 10));
        running--;
        if (fail) throw new Error(`task ${n} failed`);
        return n;
      });
    const results = await Promise.allSettled([task(1), task(2, true), task(3), task(4), task(5)]);
    expect(peak).toBe(2);
    expect(order).toEqual([1, 2, 3, 4, 5]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(gate.running).toBe(0);
    expect(() => new Semaphore(0)).toThrow();
  });
});
