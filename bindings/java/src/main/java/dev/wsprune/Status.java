package dev.wsprune;

/** The status of a wsprune call ({@code enum wsprune_status}); the codes are stable. */
public enum Status {
    /** Success (never carried by an exception). */
    OK(0),
    /** A null where not allowed, an empty root, NaN/negative/infinite hours, a 0 cap, a bad option. */
    INVALID_ARGUMENT(1),
    /** Not a valid session id; every path-traversal attempt lands here. */
    INVALID_SESSION_ID(2),
    /** No such session (or root, for touch, acquire, delete, info and repair). */
    NOT_FOUND(3),
    /** Create with an id that exists. */
    ALREADY_EXISTS(4),
    /** Held by a prune (acquire), leased (delete), or the root's prune lock timed out (prune). */
    BUSY(5),
    /** An operating-system error; the message names the operation and the errno text. */
    IO(6),
    /** A bug inside wsprune, caught at the boundary. */
    PANIC(7),
    /** A code this binding does not know (a newer library). */
    UNKNOWN(-1);

    private final int code;

    Status(int code) {
        this.code = code;
    }

    /** The C value. */
    public int code() {
        return code;
    }

    /** The lowercase name used by the conformance suite, e.g. {@code "not_found"}. */
    public String wireName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    /** The status for a C value ({@link #UNKNOWN} if there is none). */
    public static Status fromCode(int code) {
        for (Status s : values()) {
            if (s.code == code) {
                return s;
            }
        }
        return UNKNOWN;
    }
}
