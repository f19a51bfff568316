package dev.wsprune;

import com.sun.jna.Pointer;
import java.util.Map;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;

/**
 * The process-wide event logger. Internal; the API is {@link WsPrune#setLogger}.
 *
 * <p>One {@link Trampoline} is registered with the library for the life of
 * the process (a static final field: JNA keeps only a weak reference to a
 * callback, and a collected one would leave C calling freed memory). It
 * forwards to the current {@link Consumer}, a volatile field, so replacing
 * one logger by another is a field write. Only turning events on or off
 * calls {@code wsprune_set_log_callback}, which waits for callbacks in
 * progress: it is never called while holding a lock that a logger calling
 * {@code setLogger} would wait for (that would deadlock). A {@code setLogger}
 * from inside a logger that finds another thread registering leaves the
 * registration to that thread, which re-checks after its native call.
 */
final class Logging {
    private Logging() {}

    private static final Trampoline TRAMPOLINE = new Trampoline();
    private static final ReentrantLock REGISTER = new ReentrantLock();
    private static final ThreadLocal<int[]> DEPTH = ThreadLocal.withInitial(() -> new int[1]);

    private static volatile Consumer<Event> current;
    /** Whether the trampoline is registered with the library; written under REGISTER. */
    private static volatile boolean registered;

    static void set(Consumer<Event> logger) {
        current = logger;
        while ((current != null) != registered) {
            if (!REGISTER.tryLock()) {
                if (DEPTH.get()[0] > 0) {
                    return; // inside a logger: the holder re-checks after its native call
                }
                REGISTER.lock();
            }
            try {
                boolean want = current != null;
                if (want != registered) {
                    Lib.api().wsprune_set_log_callback(want ? TRAMPOLINE : null, null);
                    registered = want;
                }
            } finally {
                REGISTER.unlock();
            }
        }
    }

    /** Delivers one event to the current logger; never lets a Throwable reach C. */
    private static final class Trampoline implements LibWsPrune.LogFn {
        @Override
        public void invoke(Pointer userData, int level, String event, String fieldsJson) {
            int[] depth = DEPTH.get();
            depth[0]++;
            try {
                Consumer<Event> logger = current;
                if (logger != null) {
                    logger.accept(new Event(Level.fromCode(level), event, decode(fieldsJson), fieldsJson));
                }
            } catch (Throwable t) { // an exception must not unwind into native code
                try {
                    System.err.println("wsprune: the event logger threw on " + event + " (event dropped): " + t);
                } catch (Throwable ignored) {
                    // nothing more can be done safely here
                }
            } finally {
                depth[0]--;
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
