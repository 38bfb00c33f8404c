// Memoisation for pure functions over immutable PEM/DER inputs. `check` meets the same certificate three times
// per blueprint (storage and each server) and the same CA in every chain; parsing each once is most of its speed.

/** A cache emptied whenever it reaches `max` entries, so a long-running worker never grows it without bound. */
export class BoundedCache<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(private readonly max: number) {}

  get(key: K, make: () => V): V {
    if (this.entries.has(key)) return this.entries.get(key)!;
    const value = make();
    if (this.entries.size >= this.max) this.entries.clear();
    this.entries.set(key, value);
    return value;
  }
}
