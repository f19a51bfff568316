package dev.wsprune;

import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * One session of {@link WsPrune#listSessions} (an object of {@code wsprune ls --json}).
 *
 * @param id        the session id (the directory's name)
 * @param createdAt created_at; empty unless {@code state} is {@link SessionState#OK}
 * @param updatedAt updated_at (last use); empty unless {@code state} is {@link SessionState#OK}
 * @param ageHours  hours since updated_at when the list was made; empty when updated_at is unknown
 * @param sizeBytes what deleting it would free; empty when unknown ({@link SessionState#UNREADABLE})
 * @param state     the metadata's state
 * @param inUse     whether a lease (or a prune) held it when listed
 * @param problem   why it is corrupted or unreadable; empty otherwise
 * @param labels    its labels, from its host-owned record (empty map when it has none); empty when
 *                  they cannot be read
 */
public record SessionListing(String id, Optional<Instant> createdAt, Optional<Instant> updatedAt,
        OptionalDouble ageHours, OptionalLong sizeBytes, SessionState state, boolean inUse,
        Optional<String> problem, Optional<Map<String, String>> labels) {

    /** One element of the library's JSON array. */
    static SessionListing fromJson(Map<?, ?> m) {
        return new SessionListing((String) m.get("session_id"), instant(m.get("created_at")),
                instant(m.get("updated_at")),
                m.get("age_hours") instanceof Number n ? OptionalDouble.of(n.doubleValue()) : OptionalDouble.empty(),
                m.get("size_bytes") instanceof Number n ? OptionalLong.of(n.longValue()) : OptionalLong.empty(),
                SessionState.fromWireName((String) m.get("state")), Boolean.TRUE.equals(m.get("in_use")),
                Optional.ofNullable((String) m.get("problem")), labels(m.get("labels")));
    }

    private static Optional<Map<String, String>> labels(Object v) {
        if (!(v instanceof Map<?, ?> m)) {
            return Optional.empty();
        }
        Map<String, String> out = new java.util.TreeMap<>();
        m.forEach((k, x) -> out.put(String.valueOf(k), String.valueOf(x)));
        return Optional.of(java.util.Collections.unmodifiableMap(out));
    }

    private static Optional<Instant> instant(Object text) {
        return text == null ? Optional.empty() : Optional.of(Instant.parse((String) text));
    }
}
