// blink-client: a Node.js client for blink-store (protocol versions 1 and 2).
// This module is the package's public surface; see README.md for a tour.

import { BlinkClient } from "./client.js";

export { BlinkClient } from "./client.js";
export { Batch } from "./batch.js";
export { DEFAULT_SCAN_COUNT, NO_TTL } from "./commands.js";
export { DEFAULTS } from "./options.js";
export {
  AuthFailedError,
  AuthRequiredError,
  BlinkError,
  BusyError,
  ClientClosedError,
  ConnectionClosedError,
  ConnectionError,
  FrameTooLargeError,
  ItemTooLargeError,
  KeyTooLargeError,
  MalformedRequestError,
  NotIntegerError,
  ProtocolError,
  QueueFullError,
  QueueTimeoutError,
  ServerTimeoutError,
  ShuttingDownError,
  StatusError,
  TimeoutError,
  TooManyConnectionsError,
  UnknownCommandError,
  UnsupportedVersionError,
  ValueTooLargeError,
} from "./errors.js";

/**
 * Makes a client and waits for its first connection. If that attempt fails,
 * the client is closed and the attempt's error is thrown.
 */
export async function connect(options) {
  const client = new BlinkClient(options);
  try {
    await client.connect();
  } catch (err) {
    await client.close();
    throw err;
  }
  return client;
}
