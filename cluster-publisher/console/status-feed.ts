/** How often the feed looks at the status while someone watches: a change shows within this. */
export const FEED_INTERVAL_MS = 500

/**
 * The publisher's status, pushed to each subscriber when it differs from what
 * was last pushed: the fleet page's live feed. Level-triggered: it recomputes
 * the status as the admin endpoint would and compares, so no change can be
 * missed by not being told of it. It looks only while someone watches.
 */
export class StatusFeed {
  private readonly subscribers = new Set<(json: string) => void>()
  private timer: NodeJS.Timeout | undefined
  private last = ''

  constructor (private readonly status: () => unknown) {}

  /** Sends the status now and at each change until unsubscribed (the function returned). */
  subscribe (send: (json: string) => void): () => void {
    this.look()
    send(this.last)
    this.subscribers.add(send)
    this.timer ??= setInterval(() => { this.look() }, FEED_INTERVAL_MS).unref()
    return () => {
      this.subscribers.delete(send)
      if (this.subscribers.size === 0) this.close()
    }
  }

  close (): void {
    clearInterval(this.timer)
    this.timer = undefined
    this.subscribers.clear()
  }

  private look (): void {
    const json = JSON.stringify(this.status())
    if (json === this.last) return
    this.last = json
    for (const send of this.subscribers) send(json)
  }
}
