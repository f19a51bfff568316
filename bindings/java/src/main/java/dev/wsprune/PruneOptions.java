package dev.wsprune;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What a prune deletes. Immutable; build it with {@link #builder()}. Every
 * option left unset keeps the library's default (from
 * {@code wsprune_prune_options_init}, never a value picked here): the age
 * rule at the library's default threshold (24 h), no size, count or free-space
 * rule, the library's min-age floor, automatic jobs, the library's lock
 * timeout, not a dry run. {@code PruneOptions.builder().build()} therefore
 * prunes exactly what the library does by default, never "everything".
 *
 * <p>A value of 0 never means "delete more": a cap of 0 is refused
 * ({@link Status#INVALID_ARGUMENT}, "omit it to turn the rule off") because
 * Java can tell it from unset; {@code olderThan(Duration.ZERO)} is an explicit
 * "every idle session", and {@code minAge(Duration.ZERO)} an explicit "no floor".
 */
public final class PruneOptions {
    private final Duration olderThan; // null: library default
    private final boolean noAgeRule;
    private final Long maxTotalBytes;
    private final Long maxSessions;
    private final Long minFreeBytes;
    private final Long maxDeletions;
    private final Duration minAge;
    private final Integer jobs;
    private final Duration lockTimeout;
    private final boolean dryRun;
    private final boolean singleHost;
    private final Double minFreePercent; // null: no such rule
    private final Double highWatermark;
    private final Double lowWatermark;
    private final Double highInodeWatermark;
    private final Double lowInodeWatermark;
    private final String labelSelector; // null: every session
    private final String perOwner; // null: no per-owner caps
    private final Long maxSessionsPerOwner;
    private final Long maxBytesPerOwner;
    private final java.time.Instant asOf;

    private PruneOptions(Builder b) {
        olderThan = b.olderThan;
        noAgeRule = b.noAgeRule;
        maxTotalBytes = b.maxTotalBytes;
        maxSessions = b.maxSessions;
        minFreeBytes = b.minFreeBytes;
        maxDeletions = b.maxDeletions;
        minAge = b.minAge;
        jobs = b.jobs;
        lockTimeout = b.lockTimeout;
        dryRun = b.dryRun;
        singleHost = b.singleHost;
        minFreePercent = b.minFreePercent;
        highWatermark = b.highWatermark;
        lowWatermark = b.lowWatermark;
        highInodeWatermark = b.highInodeWatermark;
        lowInodeWatermark = b.lowInodeWatermark;
        labelSelector = b.labelSelector;
        perOwner = b.perOwner;
        maxSessionsPerOwner = b.maxSessionsPerOwner;
        maxBytesPerOwner = b.maxBytesPerOwner;
        asOf = b.asOf;
    }

    /** A builder with every option unset (the library's defaults). */
    public static Builder builder() {
        return new Builder();
    }

    /** The library's defaults (same as {@code builder().build()}). */
    public static PruneOptions defaults() {
        return new Builder().build();
    }

    /** Whether this is a dry run. */
    public boolean dryRun() {
        return dryRun;
    }

    /**
     * The C struct: {@code wsprune_prune_options_init}'s defaults, then every
     * option that was set. The strings it points to are in {@code keepAlive},
     * which must stay reachable until the prune returns.
     */
    LibWsPrune.PruneOptionsStruct toStruct(List<Memory> keepAlive) {
        LibWsPrune.PruneOptionsStruct c = initStruct();
        if (noAgeRule) {
            c.use_older_than = 0;
        } else if (olderThan != null) {
            c.use_older_than = 1;
            c.older_than_hours = hours(olderThan);
        }
        if (minAge != null) {
            c.min_age_hours = hours(minAge);
        }
        if (maxTotalBytes != null) {
            c.max_total_bytes = maxTotalBytes;
        }
        if (maxSessions != null) {
            c.max_sessions = maxSessions;
        }
        if (minFreeBytes != null) {
            c.min_free_bytes = minFreeBytes;
        }
        if (maxDeletions != null) {
            c.max_deletions = maxDeletions;
        }
        if (jobs != null) {
            c.jobs = jobs;
        }
        if (lockTimeout != null) {
            c.lock_timeout_ms = millisCeil(lockTimeout);
        }
        c.dry_run = Lib.cBool(dryRun);
        c.flags = singleHost ? LibWsPrune.FLAG_SINGLE_HOST : 0;
        // Unset is 0.0 in C; a set value was checked non-zero by the builder.
        c.min_free_percent = minFreePercent == null ? 0.0 : minFreePercent;
        c.high_watermark_percent = highWatermark == null ? 0.0 : highWatermark;
        c.low_watermark_percent = lowWatermark == null ? 0.0 : lowWatermark;
        c.high_inode_watermark_percent = highInodeWatermark == null ? 0.0 : highInodeWatermark;
        c.low_inode_watermark_percent = lowInodeWatermark == null ? 0.0 : lowInodeWatermark;
        c.label_selector = labelSelector == null ? Pointer.NULL
                : Lib.nativeString(labelSelector, "labelSelector", Status.INVALID_ARGUMENT, keepAlive);
        c.per_owner = perOwner == null ? Pointer.NULL
                : Lib.nativeString(perOwner, "perOwner", Status.INVALID_ARGUMENT, keepAlive);
        c.max_sessions_per_owner = maxSessionsPerOwner == null ? 0 : maxSessionsPerOwner;
        c.max_bytes_per_owner = maxBytesPerOwner == null ? 0 : maxBytesPerOwner;
        c.as_of_us = asOf == null ? 0 : Lib.micros(asOf);
        return c;
    }

    /** A struct filled by the library's {@code wsprune_prune_options_init}. */
    static LibWsPrune.PruneOptionsStruct initStruct() {
        LibWsPrune.PruneOptionsStruct c = new LibWsPrune.PruneOptionsStruct();
        int st = Lib.api().wsprune_prune_options_init(c, c.size());
        if (st != 0) {
            throw new WsPruneException(Status.fromCode(st), "wsprune_prune_options_init failed");
        }
        return c;
    }

    /** Fractional hours; a negative duration stays negative so that the library refuses it. */
    static double hours(Duration d) {
        return (d.getSeconds() + d.getNano() / 1e9) / 3600.0;
    }

    /** Milliseconds rounded up, capped at 2^32-1 (the C field's range), as an unsigned int. */
    static int millisCeil(Duration d) {
        long ms;
        try {
            Duration up = d.plusNanos(999_999);
            ms = up.toMillis();
        } catch (ArithmeticException e) {
            ms = Long.MAX_VALUE;
        }
        return (int) Math.min(ms, 0xFFFF_FFFFL);
    }

    @Override
    public String toString() {
        return "PruneOptions[olderThan=" + (noAgeRule ? "off" : olderThan == null ? "default" : olderThan)
                + ", maxTotalBytes=" + maxTotalBytes + ", maxSessions=" + maxSessions + ", minFreeBytes="
                + minFreeBytes + ", maxDeletions=" + maxDeletions + ", minAge="
                + (minAge == null ? "default" : minAge) + ", jobs=" + jobs + ", lockTimeout="
                + (lockTimeout == null ? "default" : lockTimeout) + ", dryRun=" + dryRun + ", singleHost=" + singleHost + ", minFreePercent=" + minFreePercent
                + ", highWatermark=" + highWatermark + ", lowWatermark=" + lowWatermark + ", highInodeWatermark="
                + highInodeWatermark + ", lowInodeWatermark=" + lowInodeWatermark + ", labelSelector=" + labelSelector
                + ", perOwner=" + perOwner + ", maxSessionsPerOwner=" + maxSessionsPerOwner + ", maxBytesPerOwner="
                + maxBytesPerOwner + "]";
    }

    /** Builds {@link PruneOptions}. Not thread-safe; the options it builds are. */
    public static final class Builder {
        private Duration olderThan;
        private boolean noAgeRule;
        private Long maxTotalBytes;
        private Long maxSessions;
        private Long minFreeBytes;
        private Long maxDeletions;
        private Duration minAge;
        private Integer jobs;
        private Duration lockTimeout;
        private boolean dryRun;
        private boolean singleHost;
        private Double minFreePercent;
        private Double highWatermark;
        private Double lowWatermark;
        private Double highInodeWatermark;
        private Double lowInodeWatermark;
        private String labelSelector;
        private String perOwner;
        private Long maxSessionsPerOwner;
        private Long maxBytesPerOwner;
        private java.time.Instant asOf;

        private Builder() {}

        /**
         * Age rule: sessions idle for at least {@code d} go. {@code Duration.ZERO}
         * is every idle session. A negative duration is refused by the library
         * ({@link Status#INVALID_ARGUMENT}) when the prune runs. Turns the
         * age rule back on after {@link #noAgeRule()}.
         */
        public Builder olderThan(Duration d) {
            olderThan = Objects.requireNonNull(d, "olderThan");
            noAgeRule = false;
            return this;
        }

        /** Turns the age rule off (to prune by the capacity rules alone). */
        public Builder noAgeRule() {
            noAgeRule = true;
            olderThan = null;
            return this;
        }

        /** Evict least recently updated sessions until they total at most {@code bytes} (> 0). */
        public Builder maxTotalBytes(long bytes) {
            maxTotalBytes = positive(bytes, "maxTotalBytes");
            return this;
        }

        /** Keep at most {@code n} sessions (> 0), the most recently updated. */
        public Builder maxSessions(long n) {
            maxSessions = positive(n, "maxSessions");
            return this;
        }

        /** Evict until the filesystem has {@code bytes} (> 0) available. */
        public Builder minFreeBytes(long bytes) {
            minFreeBytes = positive(bytes, "minFreeBytes");
            return this;
        }

        /**
         * Evict until the filesystem has {@code percent} of its size available,
         * in (0, 100]; one rule with {@link #minFreeBytes} (the larger target wins).
         */
        public Builder minFreePercent(double percent) {
            minFreePercent = nonZeroPercent(percent, "minFreePercent");
            return this;
        }

        /**
         * High watermark: once the filesystem is {@code percent} full (bytes
         * used, as the prune begins), evict least recently updated sessions
         * down to {@link #lowWatermark} (unset: this one); below it, nothing.
         * In (0, 100]; outside it, or a low watermark above it, is refused by
         * the library when the prune runs.
         */
        public Builder highWatermark(double percent) {
            highWatermark = nonZeroPercent(percent, "highWatermark");
            return this;
        }

        /** What a crossed {@link #highWatermark} evicts down to, in (0, high]. */
        public Builder lowWatermark(double percent) {
            lowWatermark = nonZeroPercent(percent, "lowWatermark");
            return this;
        }

        /** As {@link #highWatermark}, for the filesystem's inodes. */
        public Builder highInodeWatermark(double percent) {
            highInodeWatermark = nonZeroPercent(percent, "highInodeWatermark");
            return this;
        }

        /** As {@link #lowWatermark}, for the filesystem's inodes. */
        public Builder lowInodeWatermark(double percent) {
            lowInodeWatermark = nonZeroPercent(percent, "lowInodeWatermark");
            return this;
        }

        /**
         * Only sessions whose labels match {@code selector} are candidates for
         * any rule, and only they count towards {@link #maxTotalBytes} and
         * {@link #maxSessions}: "owner=alice,tier!=pro", "gpu", "!spot"
         * (docs/contract.md, "Labels"). An empty or bad selector is refused by
         * the library ({@link Status#INVALID_ARGUMENT}) when the prune runs.
         */
        public Builder labelSelector(String selector) {
            labelSelector = Objects.requireNonNull(selector, "labelSelector");
            return this;
        }

        /** The label naming a session's owner, for the per-owner caps (e.g. "owner"). */
        public Builder perOwner(String labelKey) {
            perOwner = Objects.requireNonNull(labelKey, "perOwner");
            return this;
        }

        /** Each owner keeps at most {@code n} (> 0) sessions, its least recently used going first; needs {@link #perOwner}. */
        public Builder maxSessionsPerOwner(long n) {
            maxSessionsPerOwner = positive(n, "maxSessionsPerOwner");
            return this;
        }

        /** Each owner's least recently used sessions go until its sessions take at most {@code bytes} (> 0). */
        public Builder maxBytesPerOwner(long bytes) {
            maxBytesPerOwner = positive(bytes, "maxBytesPerOwner");
            return this;
        }

        /** Delete at most {@code n} (> 0) sessions in this prune, oldest first. */
        public Builder maxDeletions(long n) {
            maxDeletions = positive(n, "maxDeletions");
            return this;
        }

        /**
         * Floor for the capacity rules: never evict a session updated less
         * than {@code d} ago. {@code Duration.ZERO}: no floor. Negative: refused
         * by the library when the prune runs.
         */
        public Builder minAge(Duration d) {
            minAge = Objects.requireNonNull(d, "minAge");
            return this;
        }

        /** Sessions handled concurrently; 0 is automatic (the default). */
        public Builder jobs(int n) {
            if (n < 0) {
                throw new WsPruneException(Status.INVALID_ARGUMENT, "jobs must not be negative (0: automatic)");
            }
            jobs = n;
            return this;
        }

        /**
         * How long to wait for another prune of the same root before
         * {@link Status#BUSY}; {@code Duration.ZERO}: do not wait. Rounded up to
         * milliseconds, capped at 2^32-1 ms.
         */
        public Builder lockTimeout(Duration d) {
            Objects.requireNonNull(d, "lockTimeout");
            if (d.isNegative()) {
                throw new WsPruneException(Status.INVALID_ARGUMENT, "lockTimeout must not be negative");
            }
            lockTimeout = d;
            return this;
        }

        /** Report what would go, delete nothing. */
        public Builder dryRun(boolean b) {
            dryRun = b;
            return this;
        }

        /**
         * Declares that no other host uses the root: a root on NFS, SMB, 9p or
         * FUSE (where a lease is kept by one host only) is pruned, with a
         * "workspace.shared_filesystem" warning event, instead of refused with
         * {@link Status#INVALID_ARGUMENT}.
         */
        public Builder singleHost(boolean b) {
            singleHost = b;
            return this;
        }

        /** The immutable options. */
        /**
         * The look-ahead: what a prune at {@code at} would delete (ages,
         * TTLs and pins at that time). Only with {@link #dryRun(boolean)},
         * else the prune is {@link Status#INVALID_ARGUMENT}.
         */
        public Builder asOf(java.time.Instant at) {
            asOf = java.util.Objects.requireNonNull(at, "asOf");
            return this;
        }

        public PruneOptions build() {
            return new PruneOptions(this);
        }

        /** 0% is unset in C, and not a rule here: refused; the range is the library's to check. */
        private static Double nonZeroPercent(double v, String what) {
            if (v == 0.0) {
                throw new WsPruneException(Status.INVALID_ARGUMENT,
                        what + " of 0% is not a rule; omit it to turn the rule off");
            }
            return v;
        }

        private static Long positive(long v, String what) {
            if (v == 0) {
                throw new WsPruneException(Status.INVALID_ARGUMENT,
                        what + " of 0 is not a cap; omit it to turn the rule off");
            }
            if (v < 0) {
                throw new WsPruneException(Status.INVALID_ARGUMENT, what + " must be positive");
            }
            return v;
        }
    }
}
