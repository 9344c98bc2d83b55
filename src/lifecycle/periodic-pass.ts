import { type SchedulerRegistry } from '@nestjs/schedule';

/**
 * A pass the worker runs every so often under a named interval (the unclaimed-grant sweep, setup
 * maintenance): a pass still running when the next is due is not doubled, and shutdown waits for
 * the one in flight. The pass handles its own errors; its number is what it did.
 */
export class PeriodicPass {
  private running: Promise<number> | null = null;

  constructor(
    private readonly registry: SchedulerRegistry,
    private readonly name: string,
    private readonly pass: () => Promise<number>,
  ) {}

  start(everyMs: number): void {
    this.registry.addInterval(
      this.name,
      setInterval(() => void this.run(), everyMs),
    );
  }

  /** One pass now, or the one already running. */
  run(): Promise<number> {
    this.running ??= this.pass().finally(() => (this.running = null));
    return this.running;
  }

  async stop(): Promise<void> {
    if (this.registry.doesExist('interval', this.name)) this.registry.deleteInterval(this.name);
    await this.running?.catch(() => undefined);
  }
}
