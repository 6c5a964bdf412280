// In-process fake servers for fault tests: a net server on a free loopback
// port whose behaviour each test scripts, with helpers to split the client's
// requests into frames and to build replies.

import net from "node:net";

/**
 * Starts a fake peer. `onRequest(socket, payload, index)` runs for each
 * request frame a connection sends (index counts from 0 per connection);
 * without it, connections are accepted and never answered.
 */
export async function startFakePeer(onRequest) {
  const sockets = new Set();
  let connections = 0;
  const server = net.createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => {});
    let buffered = Buffer.alloc(0);
    let index = 0;
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
        const len = buffered.readUInt32BE(0);
        const payload = buffered.subarray(4, 4 + len);
        buffered = buffered.subarray(4 + len);
        onRequest?.(socket, payload, index++);
      }
    });
  });
  server.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return {
    port: server.address().port,
    /** Connections accepted so far. */
    get connections() {
      return connections;
    },
    /** Connections still open. */
    get openSockets() {
      return sockets.size;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A reply frame: status and body. */
export function reply(status, body = Buffer.alloc(0)) {
  const frame = Buffer.alloc(5 + body.length);
  frame.writeUInt32BE(1 + body.length, 0);
  frame[4] = status;
  body.copy(frame, 5);
  return frame;
}

/** The OK reply to HELLO negotiating `version` (default 2) with these limits. */
export function helloReply({
  version = 2,
  maxFrameBytes = 4096,
  maxKeyBytes = 1024,
  maxValueBytes = 2048,
  authRequired = false,
} = {}) {
  const body = Buffer.alloc(14);
  body[0] = version;
  body[1] = authRequired ? 1 : 0;
  body.writeUInt32BE(maxFrameBytes, 2);
  body.writeUInt32BE(maxKeyBytes, 6);
  body.writeUInt32BE(maxValueBytes, 10);
  return reply(0x00, body);
}

export const HELLO_OPCODE = 0x02;
