package dev.wsprune;

import com.sun.jna.Library;
import com.sun.jna.Callback;
import com.sun.jna.Pointer;
import com.sun.jna.Structure;
import com.sun.jna.ptr.IntByReference;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;

/**
 * The C ABI of libwsprune ({@code include/wsprune.h}), one method per exported
 * function, mapped by JNA's interface mapping. JNA would look a function up
 * only at its first call; {@link Lib} checks at load that the library has
 * every one of them, so an older library is refused at once with its version
 * and the missing functions named.
 *
 * <p>C {@code bool} is one byte: passed as {@code byte} (never Java
 * {@code boolean}, which JNA maps to a 4-byte int), returned as {@code byte}.
 * {@code size_t} and {@code uint64_t} are {@code long} (64-bit platforms only).
 * Internal: not part of the API.
 */
interface LibWsPrune extends Library {
    /** {@code wsprune_log_fn}. */
    interface LogFn extends Callback {
        void invoke(Pointer userData, int level, String event, String fieldsJson);
    }

    /** {@code struct wsprune_prune_options}; field order is the C layout. */
    @Structure.FieldOrder({"struct_size", "older_than_hours", "min_age_hours", "max_total_bytes",
            "max_sessions", "min_free_bytes", "max_deletions", "jobs", "lock_timeout_ms",
            "use_older_than", "dry_run", "flags", "min_free_percent", "high_watermark_percent",
            "low_watermark_percent", "high_inode_watermark_percent", "low_inode_watermark_percent",
            "label_selector", "per_owner", "max_sessions_per_owner", "max_bytes_per_owner", "as_of_us"})
    final class PruneOptionsStruct extends Structure {
        public long struct_size;
        public double older_than_hours;
        public double min_age_hours;
        public long max_total_bytes;
        public long max_sessions;
        public long min_free_bytes;
        public long max_deletions;
        public int jobs;
        public int lock_timeout_ms;
        public byte use_older_than;
        public byte dry_run;
        public long flags;
        public double min_free_percent;
        public double high_watermark_percent;
        public double low_watermark_percent;
        public double high_inode_watermark_percent;
        public double low_inode_watermark_percent;
        public Pointer label_selector;
        public Pointer per_owner;
        public long max_sessions_per_owner;
        public long max_bytes_per_owner;
        public long as_of_us;
    }

    /** {@code WSPRUNE_FLAG_SINGLE_HOST}: no other host uses the workspace root. */
    long FLAG_SINGLE_HOST = 1L;

    /** {@code WSPRUNE_FLAG_FORCE}: delete the session even if it is pinned. */
    long FLAG_FORCE = 2L;

    /** {@code struct wsprune_session_options}; field order is the C layout. */
    @Structure.FieldOrder({"struct_size", "dir_mode", "adopt", "reserved", "reserved_count", "idle_ttl_seconds",
            "expires_at_us", "labels", "labels_count"})
    final class SessionOptionsStruct extends Structure {
        public long struct_size;
        public int dir_mode;
        public byte adopt;
        public Pointer reserved;
        public long reserved_count;
        public long idle_ttl_seconds;
        public long expires_at_us;
        public Pointer labels;
        public long labels_count;
    }

    /** {@code struct wsprune_session_details}; field order is the C layout. */
    @Structure.FieldOrder({"struct_size", "created_at_us", "updated_at_us", "size_bytes", "state", "in_use"})
    final class SessionDetailsStruct extends Structure {
        public long struct_size;
        public long created_at_us;
        public long updated_at_us;
        public long size_bytes;
        public int state;
        public byte in_use;
    }

    String wsprune_status_name(int status);

    String wsprune_version();

    int wsprune_error_status(Pointer error);

    String wsprune_error_message(Pointer error);

    void wsprune_error_free(Pointer error);

    void wsprune_string_free(Pointer s);

    int wsprune_session_create(String root, String sessionId, byte[] outId, long outIdLen, PointerByReference error);

    int wsprune_session_open(String root, String sessionId, byte[] outId, long outIdLen, byte[] outCreated,
            PointerByReference error);

    int wsprune_session_touch(String root, String sessionId, PointerByReference error);

    int wsprune_session_acquire(String root, String sessionId, PointerByReference outLease, PointerByReference error);

    int wsprune_lease_release(Pointer lease, byte touch, PointerByReference error);

    Pointer wsprune_prune_sessions(String root, double olderThanHours, byte dryRun, PointerByReference error);

    long wsprune_prune_result_deleted_count(Pointer r);

    String wsprune_prune_result_deleted_id(Pointer r, long i);

    long wsprune_prune_result_skipped_count(Pointer r);

    String wsprune_prune_result_skipped_id(Pointer r, long i);

    String wsprune_prune_result_skipped_reason(Pointer r, long i);

    long wsprune_prune_result_error_count(Pointer r);

    String wsprune_prune_result_error_id(Pointer r, long i);

    String wsprune_prune_result_error_message(Pointer r, long i);

    long wsprune_prune_result_reclaimed_bytes(Pointer r);

    byte wsprune_prune_result_dry_run(Pointer r);

    String wsprune_prune_result_summary(Pointer r);

    Pointer wsprune_prune_result_to_json(Pointer r);

    void wsprune_prune_result_free(Pointer r);

    long wsprune_prune_result_unmet_target_count(Pointer r);

    String wsprune_prune_result_unmet_target(Pointer r, long i);

    long wsprune_prune_result_interrupted_count(Pointer r);

    String wsprune_prune_result_interrupted_name(Pointer r, long i);

    void wsprune_set_log_callback(LogFn cb, Pointer userData);

    int wsprune_prune_options_init(PruneOptionsStruct opts, long size);

    Pointer wsprune_prune_sessions_with_options(String root, PruneOptionsStruct options, PointerByReference error);

    String wsprune_prune_result_deleted_rule(Pointer r, long i);

    long wsprune_prune_result_deleted_bytes(Pointer r, long i);

    double wsprune_prune_result_deleted_age_hours(Pointer r, long i);

    long wsprune_prune_result_interrupted_bytes(Pointer r, long i);

    long wsprune_prune_result_unmet_target_value(Pointer r, long i);

    long wsprune_prune_result_unmet_actual(Pointer r, long i);

    int wsprune_session_touch_outcome(String root, String sessionId, IntByReference outOutcome, PointerByReference error);

    int wsprune_lease_release_outcome(Pointer lease, byte touch, IntByReference outOutcome, PointerByReference error);

    int wsprune_session_delete(String root, String sessionId, int waitMs, LongByReference outReclaimedBytes,
            PointerByReference error);

    int wsprune_session_delete_with_flags(String root, String sessionId, int waitMs, long flags,
            LongByReference outReclaimedBytes, PointerByReference error);

    int wsprune_session_info(String root, String sessionId, SessionDetailsStruct out, PointerByReference error);

    int wsprune_session_pin(String root, String sessionId, long untilUs, PointerByReference error);

    int wsprune_session_unpin(String root, String sessionId, PointerByReference error);

    int wsprune_session_set_ttl(String root, String sessionId, long idleTtlSeconds, long expiresAtUs,
            PointerByReference error);

    int wsprune_repair_sessions(String root, byte dryRun, LongByReference outRepaired, PointerByReference outJson,
            PointerByReference error);

    int wsprune_list_sessions(String root, PointerByReference outJson, PointerByReference error);

    int wsprune_session_options_init(SessionOptionsStruct opts, long size);

    int wsprune_session_create_with_options(String root, String sessionId, SessionOptionsStruct opts, byte[] outId,
            long outIdLen, PointerByReference error);

    int wsprune_session_open_with_options(String root, String sessionId, SessionOptionsStruct opts, byte[] outId,
            long outIdLen, byte[] outCreated, PointerByReference error);

    int wsprune_migrate_sessions(String root, byte dryRun, PointerByReference outJson, PointerByReference error);

    int wsprune_session_set_labels(String root, String sessionId, Pointer changes, long changesCount,
            PointerByReference outJson, PointerByReference error);
    /** {@code WSPRUNE_STATS_MEASURE_SIZES}. */
    long STATS_MEASURE_SIZES = 1L;

    /** {@code WSPRUNE_STATS_IDLE_BUCKETS}. */
    int STATS_IDLE_BUCKETS = 6;

    Pointer wsprune_workspace_stats(String root, long flags, PointerByReference error);

    long wsprune_stats_sessions(Pointer s, int state);

    long wsprune_stats_leased(Pointer s);

    byte wsprune_stats_sizes_measured(Pointer s);

    long wsprune_stats_total_bytes(Pointer s);

    double wsprune_stats_idle_bucket_upper_seconds(Pointer s, long i);

    long wsprune_stats_idle_bucket_sessions(Pointer s, long i);

    long wsprune_stats_idle_bucket_bytes(Pointer s, long i);

    double wsprune_stats_oldest_idle_seconds(Pointer s);

    long wsprune_stats_fs_size_bytes(Pointer s);

    long wsprune_stats_fs_available_bytes(Pointer s);

    long wsprune_stats_fs_inodes(Pointer s);

    long wsprune_stats_fs_free_inodes(Pointer s);

    long wsprune_stats_collected_at_us(Pointer s);

    void wsprune_stats_free(Pointer s);

    int wsprune_session_read_metadata(String root, String sessionId, PointerByReference outJson,
            PointerByReference error);
}
