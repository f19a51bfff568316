package dev.wsprune;

/** The state of a session's metadata ({@code enum wsprune_session_state}). */
public enum SessionState {
    /** Valid metadata: the timestamps are known. */
    OK,
    /** No metadata file (a session from before metadata existed). */
    LEGACY,
    /** A metadata file that cannot be used. */
    CORRUPTED,
    /** The session or its metadata could not be read. */
    UNREADABLE;

    static SessionState fromCode(int code) {
        SessionState[] all = values();
        return code >= 0 && code < all.length ? all[code] : UNREADABLE;
    }

    /** The state of a lowercase name as the library writes it ({@link #UNREADABLE} for one it does not know). */
    static SessionState fromWireName(String name) {
        for (SessionState s : values()) {
            if (s.wireName().equals(name)) {
                return s;
            }
        }
        return UNREADABLE;
    }

    /** The lowercase name, e.g. {@code "legacy"}. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
