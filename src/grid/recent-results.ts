// Results of an async lookup shared by everyone asking for the same key while it runs and for a
// short while after: many settlements of one window ask for the same readings at once. A failed
// lookup is forgotten at once, so the next ask tries again.
/** How long (wall ms) readings fetched or read for one span serve other settlements over it. */
export const READINGS_REUSE_MS = 5_000

export class RecentResults<T> {
  private readonly results = new Map<string, Promise<T>>()

  constructor (private readonly keepMs: number) {}

  async get (key: string, lookup: () => Promise<T>): Promise<T> {
    let result = this.results.get(key)
    if (result === undefined) {
      result = lookup()
      this.results.set(key, result)
      const forget = (): void => { this.results.delete(key) }
      result.then(() => setTimeout(forget, this.keepMs).unref(), forget)
    }
    return await result
  }
}
