/**
 * An LRU list of keyed entries: a map for lookup and a doubly linked list for recency, so that marking an entry used
 * is a few pointer moves. (Re-inserting into a `Map` to keep it in recency order, the obvious alternative, costs
 * V8 tens of microseconds per use when one key is used over and over among thousands.)
 *
 * Internal to the package: not part of its public API.
 */

/** A node of the list; `value` is the caller's. */
export interface Node<A> {
  readonly id: string
  readonly value: A
  lastUsed: number
  older: Node<A> | undefined
  newer: Node<A> | undefined
}

/** The list, least recently used first. */
export class Lru<A> {
  private readonly nodes = new Map<string, Node<A>>()
  private oldest: Node<A> | undefined
  private newest: Node<A> | undefined

  get size(): number {
    return this.nodes.size
  }

  get(id: string): Node<A> | undefined {
    return this.nodes.get(id)
  }

  /** Adds a new most recently used entry. */
  add(id: string, value: A, now: number): Node<A> {
    const node: Node<A> = { id, value, lastUsed: now, older: undefined, newer: undefined }
    this.nodes.set(id, node)
    this.append(node)
    return node
  }

  /** Marks an entry used now. */
  touch(node: Node<A>, now: number): void {
    node.lastUsed = now
    if (this.newest === node) return
    this.unlink(node)
    this.append(node)
  }

  /** Removes an entry, if it is still in the list. */
  remove(node: Node<A>): void {
    if (this.nodes.get(node.id) !== node) return
    this.nodes.delete(node.id)
    this.unlink(node)
  }

  /** The least recently used entry. */
  leastRecentlyUsed(): Node<A> | undefined {
    return this.oldest
  }

  /** Every entry, least recently used first. */
  values(): Array<A> {
    const values: Array<A> = []
    for (let node = this.oldest; node !== undefined; node = node.newer) values.push(node.value)
    return values
  }

  private append(node: Node<A>) {
    node.older = this.newest
    node.newer = undefined
    if (this.newest !== undefined) this.newest.newer = node
    this.newest = node
    if (this.oldest === undefined) this.oldest = node
  }

  private unlink(node: Node<A>) {
    if (node.older !== undefined) node.older.newer = node.newer
    else if (this.oldest === node) this.oldest = node.newer
    if (node.newer !== undefined) node.newer.older = node.older
    else if (this.newest === node) this.newest = node.older
    node.older = undefined
    node.newer = undefined
  }
}
