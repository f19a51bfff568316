package dev.wsprune;

import java.util.Map;
import java.util.Optional;

/**
 * A session's metadata as stored ({@link WsPrune#readMetadata}): what a
 * runtime hands on unchanged, where {@link SessionInfo} gives parsed times.
 *
 * @param id       the name the session was found under (a UUID's canonical spelling, or the one given)
 * @param state    {@link SessionState#OK}, {@link SessionState#LEGACY} (no metadata: also a directory
 *                 named like a custom id without it) or {@link SessionState#CORRUPTED}
 * @param metadata for {@link SessionState#OK}, the file's JSON object with every field as stored, in
 *                 its order (timestamps as the strings the writer wrote; objects are unmodifiable maps,
 *                 arrays lists, integers {@code Long} ({@code BigInteger} when too big), other numbers
 *                 {@code Double}); empty otherwise
 * @param problem  for {@link SessionState#CORRUPTED}, why; empty otherwise
 */
public record StoredMetadata(String id, SessionState state, Optional<Map<String, Object>> metadata,
        Optional<String> problem) {

    /** The library's JSON object. */
    @SuppressWarnings("unchecked")
    static StoredMetadata fromJson(Map<?, ?> m) {
        return new StoredMetadata((String) m.get("session_id"), SessionState.fromWireName((String) m.get("state")),
                Optional.ofNullable((Map<String, Object>) m.get("metadata")),
                Optional.ofNullable((String) m.get("problem")));
    }
}
