package dev.wsprune;

import java.util.Map;

/**
 * A structured event from the library (see the table in docs/events.md).
 *
 * @param level      severity
 * @param name       e.g. {@code "session.prune.deleted"}
 * @param fields     the event's fields, decoded: strings, {@link Long} integers,
 *                   {@link Double}, {@link Boolean}, nested maps and lists, null;
 *                   unmodifiable
 * @param fieldsJson the fields as the library sent them (a JSON object)
 */
public record Event(Level level, String name, Map<String, Object> fields, String fieldsJson) {
    /** Copies nothing: {@code fields} is already unmodifiable when built by the binding. */
    public Event {
        java.util.Objects.requireNonNull(level, "level");
        java.util.Objects.requireNonNull(name, "name");
        fields = fields == null ? Map.of() : fields;
    }
}
