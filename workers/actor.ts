/**
 * An actor in the OTP sense: a mailbox, and one message handled at a time.
 * Messages told in the same turn are handled together, in order, before
 * `drained()` decides what to start (so a registration change, a forced
 * refresh and a timer arriving together start one fetch, not three). A
 * handler never awaits: slow work (a fetch, a store write) runs outside and
 * comes back as a message, so nothing interleaves inside the actor.
 *
 * The mailbox is a plain array made when the first message arrives and
 * dropped when it is empty: a shard holds 100k idle actors.
 */
export abstract class Actor<M> {
  private mail: M[] | null = null;
  private draining = false;

  tell(message: M): void {
    if (this.mail) {
      this.mail.push(message);
      return;
    }
    this.mail = [message];
    if (!this.draining) queueMicrotask(() => this.drain());
  }

  /** Handle one message; must not await. */
  protected abstract receive(message: M): void;
  /** After the mailbox ran empty: start what the messages asked for. */
  protected abstract drained(): void;
  /** A handler threw: the actor must bring itself back to a known state. */
  protected abstract crashed(err: unknown): void;

  private drain(): void {
    this.draining = true;
    try {
      for (let batch = this.mail; batch; batch = this.mail) {
        this.mail = null;
        for (const m of batch) {
          try {
            this.receive(m);
          } catch (err) {
            this.crashed(err);
          }
        }
      }
      try {
        this.drained();
      } catch (err) {
        this.crashed(err);
      }
    } finally {
      this.draining = false;
    }
    // drained() may have told itself something.
    if (this.mail) queueMicrotask(() => this.drain());
  }
}
