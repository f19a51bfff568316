package dev.wsprune;

import com.sun.jna.Memory;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * How {@link WsPrune#createSession(java.nio.file.Path, String, SessionOptions)}
 * and {@link WsPrune#openSession(java.nio.file.Path, String, SessionOptions)}
 * create or open a session. Immutable; build it with {@link #builder()}.
 * Every option left unset is the library's default on every surface: the
 * session directory 0700, no adoption, no reserved name but
 * {@code site-packages}.
 */
public final class SessionOptions {
    private final Integer dirMode; // null: the library's default (0700)
    private final boolean adopt;
    private final List<String> reserved;
    private final Duration idleTtl; // null: none
    private final Instant expiresAt; // null: none
    private final java.util.Map<String, String> labels;

    private SessionOptions(Builder b) {
        dirMode = b.dirMode;
        adopt = b.adopt;
        reserved = List.copyOf(b.reserved);
        idleTtl = b.idleTtl;
        expiresAt = b.expiresAt;
        labels = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(b.labels));
    }

    /** A C array of the strings ({@code Pointer.NULL} when there are none), its memory in {@code keepAlive}. */
    static Pointer stringArray(List<String> items, String what, List<Memory> keepAlive) {
        if (items.isEmpty()) {
            return Pointer.NULL;
        }
        Memory array = new Memory((long) Native.POINTER_SIZE * items.size());
        keepAlive.add(array);
        for (int i = 0; i < items.size(); i++) {
            array.setPointer((long) Native.POINTER_SIZE * i,
                    Lib.nativeString(items.get(i), what, Status.INVALID_ARGUMENT, keepAlive));
        }
        return array;
    }

    /** A builder with every option unset (the library's defaults). */
    public static Builder builder() {
        return new Builder();
    }

    /** The library's defaults (same as {@code builder().build()}). */
    public static SessionOptions defaults() {
        return new Builder().build();
    }

    /** The C struct ({@code wsprune_session_options_init}'s defaults, then what was set) and the memory it points to. */
    LibWsPrune.SessionOptionsStruct toNative(List<Memory> keepAlive) {
        LibWsPrune.SessionOptionsStruct s = new LibWsPrune.SessionOptionsStruct();
        int st = Lib.api().wsprune_session_options_init(s, s.size());
        if (st != 0) {
            throw new WsPruneException(Status.fromCode(st), "wsprune_session_options_init failed");
        }
        s.read();
        if (dirMode != null) {
            s.dir_mode = dirMode;
        }
        s.adopt = Lib.cBool(adopt);
        s.reserved = stringArray(reserved, "reserved name", keepAlive);
        s.reserved_count = reserved.size();
        s.idle_ttl_seconds = idleTtl == null ? 0 : idleTtl.getSeconds();
        s.expires_at_us = expiresAt == null ? 0 : Lib.micros(expiresAt);
        List<String> texts = new ArrayList<>();
        labels.forEach((k, v) -> texts.add(k + "=" + v));
        s.labels = stringArray(texts, "label", keepAlive);
        s.labels_count = texts.size();
        s.write();
        return s;
    }

    /** Builds {@link SessionOptions}. */
    public static final class Builder {
        private Integer dirMode;
        private boolean adopt;
        private final List<String> reserved = new ArrayList<>();
        private Duration idleTtl;
        private Instant expiresAt;
        private final java.util.Map<String, String> labels = new java.util.LinkedHashMap<>();

        private Builder() {}

        /**
         * The session's own idle timeout (whole seconds, at least 1 s, else
         * {@link Status#INVALID_ARGUMENT}): a prune deletes it once idle this
         * long, whatever its age rule. Given to an open of an existing
         * session, with {@link #expiresAt} it replaces the session's TTL.
         */
        public Builder idleTtl(Duration ttl) {
            idleTtl = Lib.ttl(ttl);
            return this;
        }

        /** The session's absolute expiry (see {@link #idleTtl}). */
        public Builder expiresAt(Instant at) {
            expiresAt = java.util.Objects.requireNonNull(at, "expiresAt");
            return this;
        }

        /**
         * A label for the session (docs/contract.md, "Labels"), e.g.
         * {@code label("owner", "alice")}: a new session gets it; an open of
         * an existing one sets it, keeping its other labels. A bad key or
         * value is {@link Status#INVALID_ARGUMENT} from the library, and
         * nothing is created.
         */
        public Builder label(String key, String value) {
            labels.put(java.util.Objects.requireNonNull(key, "label key"),
                    java.util.Objects.requireNonNull(value, "label value"));
            return this;
        }

        /**
         * The session directory's mode before the umask, e.g. {@code 0750}:
         * permission bits with rwx for the owner. 0 and anything else are
         * {@link Status#INVALID_ARGUMENT} (0 is no mode the owner can use;
         * leave it unset for the default, 0700).
         */
        public Builder dirMode(int mode) {
            if (mode <= 0 || mode > 0777) {
                throw new WsPruneException(Status.INVALID_ARGUMENT,
                        "dirMode " + Integer.toOctalString(mode) + ": expected permission bits (at most 777) with rwx for the owner");
            }
            dirMode = mode;
            return this;
        }

        /**
         * Lets openSession adopt an existing directory that is neither a
         * registered session nor holds valid metadata (registered dated now:
         * a later prune deletes it with what it holds). Default false: such
         * a directory is {@link Status#NOT_FOUND}. A creation ignores it.
         */
        public Builder adopt(boolean adopt) {
            this.adopt = adopt;
            return this;
        }

        /**
         * More names that are never a session, besides {@code site-packages}:
         * creating or opening one is {@link Status#INVALID_SESSION_ID}.
         */
        public Builder reserved(String... names) {
            for (String n : names) {
                if (n == null) {
                    throw new NullPointerException("reserved name");
                }
                reserved.add(n);
            }
            return this;
        }

        public SessionOptions build() {
            return new SessionOptions(this);
        }
    }
}
