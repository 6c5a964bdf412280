// The protocol test vectors (protocol/vectors/v1.json, and v2.json with what
// version 2 adds) and their byte-string encoding (protocol/vectors/README.md):
// hex, or parts with repeats.

import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = fileURLToPath(new URL("../../../../../", import.meta.url));
const load = (file) => JSON.parse(readFileSync(path.join(REPO_ROOT, "protocol/vectors", file), "utf8"));

/** Both vector files by name; a version-2 client passes every case of each. */
export const VECTOR_FILES = Object.freeze({ "v1.json": load("v1.json"), "v2.json": load("v2.json") });
/** v1.json: the limit sets and every version-1 case. */
export const VECTORS = VECTOR_FILES["v1.json"];

/** The bytes of a vector byte string. */
export function bytesOf(spec) {
  if (typeof spec === "string") return Buffer.from(spec.replace(/\s+/g, ""), "hex");
  return Buffer.concat(
    spec.map((part) => (typeof part === "string" ? bytesOf(part) : Buffer.alloc(part.count, bytesOf(part.repeat)))),
  );
}

/** The status code of a SPEC §6.2 name. */
export function statusCode(name) {
  const code = STATUS_CODES[name];
  if (code === undefined) throw new Error(`unknown status name ${name}`);
  return code;
}

const STATUS_CODES = {
  OK: 0x00,
  NOT_FOUND: 0x01,
  EXISTS: 0x02,
  ERR_UNKNOWN_COMMAND: 0x80,
  ERR_MALFORMED: 0x81,
  ERR_FRAME_TOO_LARGE: 0x82,
  ERR_KEY_TOO_LARGE: 0x83,
  ERR_VALUE_TOO_LARGE: 0x84,
  ERR_ITEM_TOO_LARGE: 0x85,
  ERR_AUTH_REQUIRED: 0x86,
  ERR_AUTH_FAILED: 0x87,
  ERR_UNSUPPORTED_VERSION: 0x88,
  ERR_TOO_MANY_CONNECTIONS: 0x89,
  ERR_TIMEOUT: 0x8a,
  ERR_BUSY: 0x8b,
  ERR_SHUTTING_DOWN: 0x8c,
  ERR_NOT_INTEGER: 0x8d,
};

/** The flags that start a server with a vector limit set (conformance README). */
export function limitFlags(name = "default") {
  const limits = VECTORS.limits[name];
  return [
    "--max-frame-bytes",
    String(limits.max_frame_bytes),
    "--max-key-bytes",
    String(limits.max_key_bytes),
    "--max-value-bytes",
    String(limits.max_value_bytes),
  ];
}
