// Reconnect pacing: exponential backoff with a cap and random jitter, so a
// restarting server is not hit by every client at once (CLIENTS.md).

/** Delay before the next connect attempt after `failures` consecutive failed ones. */
export function reconnectDelayMs(failures, { baseDelayMs, maxDelayMs, jitterMs }) {
  const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(failures, 30));
  return Math.round(exponential + Math.random() * jitterMs);
}
