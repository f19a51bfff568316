package dev.wsprune;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalLong;

/**
 * A workspace root's statistics at one instant ({@link WsPrune#workspaceStats}).
 *
 * @param collectedAt   when they were gathered (idle times are measured from it)
 * @param sessions      sessions by state (every state present)
 * @param leased        sessions leased (or being deleted) at that instant
 * @param totalBytes    the sessions' total size; empty unless sizes were measured
 * @param idle          the sessions whose last use is known, by idle time: at most 1 h, 6 h, 24 h, 7 d, 30 d, longer
 * @param oldestIdle    the longest idle time; empty when no session's last use is known
 * @param fsSizeBytes   the root filesystem's size
 * @param fsAvailableBytes bytes available to unprivileged users
 * @param fsInodes      inodes in total (0 where the filesystem has no fixed number)
 * @param fsFreeInodes  free inodes
 */
public record WorkspaceStats(Instant collectedAt, Map<SessionState, Long> sessions, long leased,
        OptionalLong totalBytes, List<IdleBucket> idle, Optional<Duration> oldestIdle, long fsSizeBytes,
        long fsAvailableBytes, long fsInodes, long fsFreeInodes) {

    /**
     * One idle-time bucket: sessions idle for at most {@code upperSeconds}
     * ({@code Double.POSITIVE_INFINITY} for the last) and more than the previous bound (not cumulative).
     *
     * @param upperSeconds the bucket's upper bound in seconds
     * @param sessions     sessions in it
     * @param bytes        their total size; empty unless sizes were measured
     */
    public record IdleBucket(double upperSeconds, long sessions, OptionalLong bytes) {
    }

    static WorkspaceStats gather(Path root, boolean measureSizes) {
        String r = Lib.root(root);
        LibWsPrune api = Lib.api();
        PointerByReference err = new PointerByReference();
        Pointer s = api.wsprune_workspace_stats(r, measureSizes ? LibWsPrune.STATS_MEASURE_SIZES : 0, err);
        if (s == null) {
            throw Lib.takeError(Status.INVALID_ARGUMENT.code(), err);
        }
        try {
            boolean sized = api.wsprune_stats_sizes_measured(s) != 0;
            Map<SessionState, Long> sessions = new EnumMap<>(SessionState.class);
            for (SessionState st : SessionState.values()) {
                sessions.put(st, api.wsprune_stats_sessions(s, st.ordinal()));
            }
            List<IdleBucket> idle = new ArrayList<>();
            for (int i = 0; i < LibWsPrune.STATS_IDLE_BUCKETS; i++) {
                idle.add(new IdleBucket(api.wsprune_stats_idle_bucket_upper_seconds(s, i),
                        api.wsprune_stats_idle_bucket_sessions(s, i),
                        sized ? OptionalLong.of(api.wsprune_stats_idle_bucket_bytes(s, i)) : OptionalLong.empty()));
            }
            double oldest = api.wsprune_stats_oldest_idle_seconds(s);
            return new WorkspaceStats(
                    Instant.EPOCH.plus(api.wsprune_stats_collected_at_us(s), ChronoUnit.MICROS),
                    Collections.unmodifiableMap(sessions), api.wsprune_stats_leased(s),
                    sized ? OptionalLong.of(api.wsprune_stats_total_bytes(s)) : OptionalLong.empty(),
                    List.copyOf(idle),
                    oldest >= 0 ? Optional.of(Duration.ofNanos((long) (oldest * 1e9))) : Optional.empty(),
                    api.wsprune_stats_fs_size_bytes(s), api.wsprune_stats_fs_available_bytes(s),
                    api.wsprune_stats_fs_inodes(s), api.wsprune_stats_fs_free_inodes(s));
        } finally {
            api.wsprune_stats_free(s);
        }
    }
}
