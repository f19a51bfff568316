package dev.wsprune;

/** Severity of an {@link Event} ({@code enum wsprune_level}). */
public enum Level {
    /** Per-operation detail (session.metadata.updated, session.prune.candidate). */
    DEBUG,
    /** Normal progress: creations, deletions, skips, prune start and end. */
    INFO,
    /** The operation carried on despite a problem. */
    WARNING,
    /** A session could not be handled. */
    ERROR;

    static Level fromCode(int code) {
        Level[] all = values();
        return code >= 0 && code < all.length ? all[code] : ERROR;
    }
}
