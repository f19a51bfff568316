package dev.wsprune;

import com.sun.jna.Pointer;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The process-wide event logger. Internal; the API is {@link WsPrune#setLogger}.
 *
 * <p>The {@link LibWsPrune.LogFn} handed to C is kept in a static field for as
 * long as it is registered: JNA only keeps a weak reference, and a collected
 * callback would leave C calling freed trampoline memory. After
 * {@code wsprune_set_log_callback} returns, the library guarantees the
 * previous callback is not running and never will be again, so the old
 * reference may be dropped then.
 */
final class Logging {
    private Logging() {}

    /** The registered callback (strong reference); guarded by Logging.class. */
    private static LibWsPrune.LogFn registered;

    static synchronized void set(Consumer<Event> logger) {
        if (logger == null) {
            Lib.api().wsprune_set_log_callback(null, null);
            registered = null;
            return;
        }
        LibWsPrune.LogFn fn = new Trampoline(logger);
        Lib.api().wsprune_set_log_callback(fn, null);
        registered = fn; // the previous one is now unreachable from C: drop it
    }

    /** Delivers one event to the Java logger; never lets a Throwable reach C. */
    private static final class Trampoline implements LibWsPrune.LogFn {
        private final Consumer<Event> logger;

        Trampoline(Consumer<Event> logger) {
            this.logger = logger;
        }

        @Override
        public void invoke(Pointer userData, int level, String event, String fieldsJson) {
            try {
                Map<String, Object> fields = decode(fieldsJson);
                logger.accept(new Event(Level.fromCode(level), event, fields, fieldsJson));
            } catch (Throwable t) { // an exception must not unwind into native code
                try {
                    System.err.println("wsprune: the event logger threw on " + event + " (event dropped): " + t);
                } catch (Throwable ignored) {
                    // nothing more can be done safely here
                }
            }
        }
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> decode(String fieldsJson) {
        if (fieldsJson == null) {
            return Map.of();
        }
        Object v = Json.parse(fieldsJson);
        return v instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of("value", v);
    }
}
