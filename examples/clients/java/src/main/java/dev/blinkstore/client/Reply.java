package dev.blinkstore.client;

import java.nio.charset.StandardCharsets;

/**
 * One decoded reply frame: its status byte and its body (SPEC §6.1). The body array is owned
 * by the reply; {@link Command} turns it into the caller's result.
 *
 * @param status the status code, 0 to 255
 * @param body the bytes after the status, possibly empty
 */
record Reply(int status, byte[] body) {
    /** The body read as an error message (SPEC §6.2: UTF-8, for display only). */
    String message() {
        return new String(body, StandardCharsets.UTF_8);
    }
}
