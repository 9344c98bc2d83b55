import { ProviderError } from '../../../../src/providers/provider';
import { callWithDeadline } from '../../../../src/lifecycle/refresh/refresh.service';

/** A provider call that outlives its deadline is aborted, not left running with its slot freed. */
describe('callWithDeadline', () => {
  it('aborts the call at the deadline and waits for it to settle before answering timeout', async () => {
    let aborted = false;
    let settled = false;
    const started = Date.now();
    const outcome = callWithDeadline(
      (signal) =>
        new Promise<string>((_, reject) => {
          signal.addEventListener('abort', () => {
            aborted = true;
            // The SDK notices the abort and gives up a little later.
            setTimeout(() => {
              settled = true;
              reject(new Error('aborted'));
            }, 30);
          });
        }),
      50,
    );
    await expect(outcome).rejects.toMatchObject({ kind: 'transient', reason: 'timeout' });
    await expect(outcome).rejects.toBeInstanceOf(ProviderError);
    expect(aborted).toBe(true);
    expect(settled).toBe(true); // the slot was held until the call actually ended
    expect(Date.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('answers what a call returns within its deadline, without aborting it', async () => {
    let signalled = false;
    const value = await callWithDeadline(async (signal) => {
      signal.addEventListener('abort', () => (signalled = true));
      return 'ok';
    }, 1_000);
    expect(value).toBe('ok');
    expect(signalled).toBe(false);
  });
});
