package dev.wsprune;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What {@link WsPrune#migrate} did (or, in a dry run, would do).
 *
 * @param registered sessions registered, sorted by id
 * @param skipped    session id to why it was left unregistered (corrupted metadata, a locked directory)
 * @param dryRun     whether nothing was registered on purpose
 */
public record MigrateResult(List<Migrated> registered, Map<String, String> skipped, boolean dryRun) {
    /** Unmodifiable copies. */
    public MigrateResult {
        registered = List.copyOf(registered);
        skipped = Map.copyOf(skipped);
    }

    /**
     * One registered session.
     *
     * @param id          session id
     * @param hadMetadata whether it had valid metadata (trusted once) or none (dated now)
     * @param updatedAt   the updated_at its record starts with, as the library's RFC 3339 text
     */
    public record Migrated(String id, boolean hadMetadata, String updatedAt) {
        /** {@code updatedAt} as an {@link Instant}. */
        public Instant updatedInstant() {
            return java.time.OffsetDateTime.parse(updatedAt).toInstant();
        }
    }
}
