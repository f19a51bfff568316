package dev.wsprune;

import java.time.Instant;
import java.util.Optional;

/**
 * What is known about one session ({@code wsprune_session_details}).
 *
 * @param id        the session id asked about
 * @param createdAt created_at; empty unless {@code state} is {@link SessionState#OK}
 * @param updatedAt updated_at (last use); empty unless {@code state} is {@link SessionState#OK}
 * @param sizeBytes what deleting it would free
 * @param state     the metadata's state
 * @param inUse     whether a lease (or a prune) held it when probed
 */
public record SessionInfo(String id, Optional<Instant> createdAt, Optional<Instant> updatedAt, long sizeBytes,
        SessionState state, boolean inUse) {
    static Optional<Instant> fromMicros(SessionState state, long us) {
        return state == SessionState.OK
                ? Optional.of(Instant.ofEpochSecond(Math.floorDiv(us, 1_000_000L), Math.floorMod(us, 1_000_000L) * 1000L))
                : Optional.empty();
    }
}
