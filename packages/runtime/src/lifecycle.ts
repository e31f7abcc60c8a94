/** Where a service is in its life: not yet listening, serving, or draining before exit. */
export type Phase = 'starting' | 'ready' | 'draining';

/** Readiness state shared by /readyz, the request hooks and the shutdown sequence. */
export class Lifecycle {
  #phase: Phase = 'starting';

  get phase(): Phase {
    return this.#phase;
  }

  get ready(): boolean {
    return this.#phase === 'ready';
  }

  get draining(): boolean {
    return this.#phase === 'draining';
  }

  /** Called once the server listens. */
  markReady(): void {
    if (this.#phase === 'starting') this.#phase = 'ready';
  }

  /** Called on the first shutdown signal; never leaves this phase. */
  startDraining(): void {
    this.#phase = 'draining';
  }
}
