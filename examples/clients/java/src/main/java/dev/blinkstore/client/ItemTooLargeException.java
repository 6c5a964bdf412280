package dev.blinkstore.client;

/** An item the server can never cache: larger than its memory cap (SPEC §13 ERR_ITEM_TOO_LARGE). */
public final class ItemTooLargeException extends RequestRefusedException {
    private static final long serialVersionUID = 1L;

    ItemTooLargeException(String message) {
        super(message, Status.ERR_ITEM_TOO_LARGE);
    }
}
