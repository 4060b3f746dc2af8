/**
 * One render of the exposition that any number of readers follow as it is produced: a scrape that arrives
 * while a render is under way reads the same pieces (those already written, then the rest as they come)
 * instead of starting a second collection. It lives only until its last piece is written; the next scrape
 * after that starts a new render, so nothing is kept across scrapes.
 */
export class SharedRender {
  private readonly pieces: string[] = [];
  private done = false;
  private failure: { error: unknown } | undefined;
  private waiters: (() => void)[] = [];

  /** Appends a piece of the exposition and wakes the readers. */
  push(piece: string): void {
    this.pieces.push(piece);
    this.wake();
  }

  /** Marks the render complete (or failed with `error`) and wakes the readers. */
  finish(error?: unknown): void {
    this.done = true;
    if (error !== undefined) this.failure = { error };
    this.wake();
  }

  /**
   * Every piece from the first, waiting for those not yet produced.
   * @throws the render's error, once the pieces produced before it are read.
   */
  async *read(): AsyncGenerator<string, void, undefined> {
    let i = 0;
    for (;;) {
      while (i < this.pieces.length) yield this.pieces[i++] as string;
      if (this.failure) throw this.failure.error;
      if (this.done) return;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
