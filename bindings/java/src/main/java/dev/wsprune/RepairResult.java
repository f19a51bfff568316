package dev.wsprune;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What {@link WsPrune#repair} did (or, in a dry run, would do).
 *
 * @param repaired sessions given metadata
 * @param errors   session id to message (leased sessions are left alone and listed here)
 * @param dryRun   whether nothing was written on purpose
 */
public record RepairResult(List<Repaired> repaired, Map<String, String> errors, boolean dryRun) {
    /** Unmodifiable copies. */
    public RepairResult {
        repaired = List.copyOf(repaired);
        errors = Map.copyOf(errors);
    }

    /**
     * One repaired session.
     *
     * @param id            session id
     * @param previousState {@code "legacy"} or {@code "corrupted"}, as the library reports it
     * @param updatedAt     the updated_at written (the newest modification time found in it),
     *                      as the library's RFC 3339 text
     */
    public record Repaired(String id, String previousState, String updatedAt) {
        /** {@code updatedAt} as an {@link Instant}. */
        public Instant updatedInstant() {
            return java.time.OffsetDateTime.parse(updatedAt).toInstant();
        }
    }
}
