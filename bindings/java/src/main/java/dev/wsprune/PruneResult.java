package dev.wsprune;

import com.sun.jna.Pointer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a prune did (or, in a dry run, would do): an immutable value copied out
 * of the C result, which is freed before {@link WsPrune#prune} returns.
 *
 * @param deleted        deleted (or would-be-deleted) session ids, in the library's order (sorted by id)
 * @param deletedRules   deleted id to the rule that selected it ({@code "older_than"},
 *                       {@code "max_total_bytes"}, {@code "max_sessions"}, {@code "min_free_bytes"},
 *                       {@code "interrupted"}, {@code "ttl"}: the session's own TTL, since 0.4.0)
 * @param skipped        skipped id to reason ({@code "missing_metadata"}, {@code "corrupted_metadata"},
 *                       {@code "corrupted_timestamp"}, {@code "in_use"}, {@code "pinned"}: since 0.4.0),
 *                       in the library's order
 * @param errors         failed id (or trash name) to message; the prune carried on
 * @param interrupted    leftover trash directories of earlier interrupted deletions finished now
 * @param unmetTargets   capacity targets still not met when the prune ended
 * @param reclaimedBytes bytes freed (or that would be)
 * @param dryRun         whether nothing was deleted on purpose
 * @param summary        the library's human summary, e.g. "Pruned 2 sessions (1 skipped, 0 errors), reclaimed 1.4 MB"
 * @param details        deleted id to what the prune recorded about it: rule, bytes freed, idle age (since 0.4.0)
 * @param interruptedBytes finished trash directory to the bytes it freed (since 0.4.0)
 * @param unmet          target and actual value of each of {@code unmetTargets}, same order (since 0.4.0)
 */
public record PruneResult(List<String> deleted, Map<String, String> deletedRules, Map<String, String> skipped,
        Map<String, String> errors, List<String> interrupted, List<String> unmetTargets, long reclaimedBytes,
        boolean dryRun, String summary, Map<String, DeletedSession> details, Map<String, Long> interruptedBytes,
        List<UnmetTarget> unmet) {

    /**
     * What a prune recorded about a session it deleted (or would).
     *
     * @param rule     the rule that selected it
     * @param bytes    bytes freed (or that would be)
     * @param ageHours hours since it was last used
     */
    public record DeletedSession(String rule, long bytes, double ageHours) {
    }

    /**
     * A capacity target the prune did not reach.
     *
     * @param rule   {@code "max_total_bytes"}, {@code "max_sessions"}, {@code "min_free_bytes"}, {@code "watermark"} or {@code "inode_watermark"}
     * @param target the option's value (bytes, or a session count)
     * @param actual the total bytes, session count or free bytes when the prune ended
     */
    public record UnmetTarget(String rule, long target, long actual) {
    }

    /** The 0.3.0 components alone (no per-session details). */
    public PruneResult(List<String> deleted, Map<String, String> deletedRules, Map<String, String> skipped,
            Map<String, String> errors, List<String> interrupted, List<String> unmetTargets, long reclaimedBytes,
            boolean dryRun, String summary) {
        this(deleted, deletedRules, skipped, errors, interrupted, unmetTargets, reclaimedBytes, dryRun, summary,
                Map.of(), Map.of(), List.of());
    }

    /** Makes every collection an unmodifiable copy (keeping the order). */
    public PruneResult {
        deleted = List.copyOf(deleted);
        deletedRules = Collections.unmodifiableMap(new LinkedHashMap<>(deletedRules));
        skipped = Collections.unmodifiableMap(new LinkedHashMap<>(skipped));
        errors = Collections.unmodifiableMap(new LinkedHashMap<>(errors));
        interrupted = List.copyOf(interrupted);
        unmetTargets = List.copyOf(unmetTargets);
        java.util.Objects.requireNonNull(summary, "summary");
        details = Collections.unmodifiableMap(new LinkedHashMap<>(details));
        interruptedBytes = Collections.unmodifiableMap(new LinkedHashMap<>(interruptedBytes));
        unmet = List.copyOf(unmet);
    }

    /** The summary. */
    @Override
    public String toString() {
        return summary;
    }

    /** Copies a C result (does not free it). */
    static PruneResult copyOf(Pointer r) {
        LibWsPrune c = Lib.api();
        List<String> deleted = new ArrayList<>();
        Map<String, String> rules = new LinkedHashMap<>();
        Map<String, DeletedSession> details = new LinkedHashMap<>();
        for (long i = 0, n = c.wsprune_prune_result_deleted_count(r); i < n; i++) {
            String id = c.wsprune_prune_result_deleted_id(r, i);
            deleted.add(id);
            String rule = c.wsprune_prune_result_deleted_rule(r, i);
            rules.put(id, rule);
            details.put(id, new DeletedSession(rule, c.wsprune_prune_result_deleted_bytes(r, i),
                    c.wsprune_prune_result_deleted_age_hours(r, i)));
        }
        Map<String, String> skipped = new LinkedHashMap<>();
        for (long i = 0, n = c.wsprune_prune_result_skipped_count(r); i < n; i++) {
            skipped.put(c.wsprune_prune_result_skipped_id(r, i), c.wsprune_prune_result_skipped_reason(r, i));
        }
        Map<String, String> errors = new LinkedHashMap<>();
        for (long i = 0, n = c.wsprune_prune_result_error_count(r); i < n; i++) {
            errors.put(c.wsprune_prune_result_error_id(r, i), c.wsprune_prune_result_error_message(r, i));
        }
        List<String> interrupted = new ArrayList<>();
        Map<String, Long> interruptedBytes = new LinkedHashMap<>();
        for (long i = 0, n = c.wsprune_prune_result_interrupted_count(r); i < n; i++) {
            String name = c.wsprune_prune_result_interrupted_name(r, i);
            interrupted.add(name);
            interruptedBytes.put(name, c.wsprune_prune_result_interrupted_bytes(r, i));
        }
        List<String> unmetTargets = new ArrayList<>();
        List<UnmetTarget> unmet = new ArrayList<>();
        for (long i = 0, n = c.wsprune_prune_result_unmet_target_count(r); i < n; i++) {
            String rule = c.wsprune_prune_result_unmet_target(r, i);
            unmetTargets.add(rule);
            unmet.add(new UnmetTarget(rule, c.wsprune_prune_result_unmet_target_value(r, i),
                    c.wsprune_prune_result_unmet_actual(r, i)));
        }
        return new PruneResult(deleted, rules, skipped, errors, interrupted, unmetTargets,
                c.wsprune_prune_result_reclaimed_bytes(r), c.wsprune_prune_result_dry_run(r) != 0,
                c.wsprune_prune_result_summary(r), details, interruptedBytes, unmet);
    }
}
