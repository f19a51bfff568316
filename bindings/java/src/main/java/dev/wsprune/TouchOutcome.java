package dev.wsprune;

/** What a touch did ({@code WSPRUNE_TOUCH_*}): read from the C ABI, never from events. */
public enum TouchOutcome {
    /** updated_at is now. */
    UPDATED,
    /** A legacy session (no metadata): nothing to update; not an error. */
    LEGACY,
    /** Corrupted metadata, left as it is (a warning event says why); not an error. */
    CORRUPTED;

    /** The outcome of a {@code WSPRUNE_TOUCH_*} value; null for {@code WSPRUNE_TOUCH_NONE} (no touch). */
    static TouchOutcome fromCode(int code) {
        TouchOutcome[] all = values();
        return code >= 0 && code < all.length ? all[code] : null;
    }

    /** The lowercase name, e.g. {@code "legacy"}. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
