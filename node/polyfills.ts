// Node.js 20 lacks Promise.withResolvers, which libp2p's queues call at run time.
// Loaded before anything else (bin/dime.js and the test runner's --import).
// tsconfig stays on ES2023 so code of ours cannot lean on other ES2024 features Node 20 lacks.
const promise = Promise as unknown as Record<string, unknown>
if (typeof promise.withResolvers !== 'function') {
  Object.defineProperty(Promise, 'withResolvers', {
    configurable: true,
    writable: true,
    value: function withResolvers<T> () {
      let resolve!: (value: T | PromiseLike<T>) => void
      let reject!: (reason?: unknown) => void
      const pending = new Promise<T>((res, rej) => { resolve = res; reject = rej })
      return { promise: pending, resolve, reject }
    }
  })
}
