// A first-in first-out queue with O(1) amortised push and shift: the reply
// FIFO of a connection, where Array#shift would be O(n) per reply.

const COMPACT_AFTER = 1024;

export class Fifo {
  #items = [];
  #head = 0;

  get length() {
    return this.#items.length - this.#head;
  }

  push(item) {
    this.#items.push(item);
  }

  peek() {
    return this.#items[this.#head];
  }

  shift() {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    } else if (this.#head >= COMPACT_AFTER && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes and returns the last `count` items, oldest first. */
  popTail(count) {
    return this.#items.splice(this.#items.length - count, count);
  }

  /** Removes and returns every item, oldest first. */
  drain() {
    const items = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return items;
  }
}
