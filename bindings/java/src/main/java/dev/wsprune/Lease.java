package dev.wsprune;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.PointerByReference;
import java.lang.ref.Cleaner;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A lease on a session (a shared lock on its directory) while code runs in
 * it: a prune skips a leased session as {@code "in_use"}. Use it with
 * try-with-resources; call {@link #release(boolean) release(true)} at the end
 * of a successful run to refresh the session's updated_at while the lease
 * still protects it:
 *
 * <pre>{@code
 * try (Lease lease = WsPrune.acquire(root, id)) {
 *     runCode(root.resolve(id));
 *     lease.release(true); // touch after successful execution
 * }                        // close(): releases without touching if still held
 * }</pre>
 *
 * <p>Thread-safe: the native lease is handed out to exactly one release, so
 * concurrent {@code release}/{@code close} calls release it once; the others
 * return false. A lease that becomes unreachable unreleased is released
 * (without touching) by a {@link Cleaner}, but that is a safety net only: the
 * garbage collector decides when, and until then a prune skips the session.
 */
public final class Lease implements AutoCloseable {
    private static final Cleaner CLEANER = Cleaner.create();

    private final Path root;
    private final String sessionId;
    private final Handle handle;
    private final Cleaner.Cleanable cleanable;

    /** The native lease; shared with the Cleaner action, which must not reach the Lease. */
    private static final class Handle implements Runnable {
        final AtomicReference<Pointer> ptr;

        Handle(Pointer p) {
            ptr = new AtomicReference<>(p);
        }

        /** Cleaner action: release without touching; errors have nowhere to go. */
        @Override
        public void run() {
            Pointer p = ptr.getAndSet(null);
            if (p != null) {
                Lib.api().wsprune_lease_release(p, (byte) 0, null);
            }
        }
    }

    Lease(Path root, String sessionId, Pointer lease) {
        this.root = root;
        this.sessionId = sessionId;
        this.handle = new Handle(lease);
        this.cleanable = CLEANER.register(this, handle);
    }

    /** The workspace root. */
    public Path root() {
        return root;
    }

    /** The session id. */
    public String sessionId() {
        return sessionId;
    }

    private volatile TouchOutcome touchOutcome;

    /** What {@link #release(boolean) release(true)} did; null before, or after a release without touch (since 0.4.0). */
    public TouchOutcome touchOutcome() {
        return touchOutcome;
    }

    /** Whether the lease is still held (not yet released). */
    public boolean isHeld() {
        return handle.ptr.get() != null;
    }

    /**
     * Releases the lease; with {@code touch}, first sets the session's
     * updated_at to now while the lease still protects it (legacy and
     * corrupted metadata are not errors, as for {@link WsPrune#touchSession}).
     * The lock is released even if the touch fails (then this throws).
     *
     * @return true if this call released it; false if it was already released
     * @throws WsPruneException if the touch failed
     */
    public boolean release(boolean touch) {
        Pointer p = handle.ptr.getAndSet(null);
        if (p == null) {
            return false;
        }
        cleanable.clean(); // nothing left to release: just unregisters
        PointerByReference err = new PointerByReference();
        com.sun.jna.ptr.IntByReference outcome = new com.sun.jna.ptr.IntByReference(-1);
        Lib.check(Lib.api().wsprune_lease_release_outcome(p, Lib.cBool(touch), outcome, err), err);
        touchOutcome = TouchOutcome.fromCode(outcome.getValue());
        return true;
    }

    /** Releases without touching if still held; idempotent. */
    @Override
    public void close() {
        release(false);
    }

    @Override
    public String toString() {
        return "Lease[" + root + "/" + sessionId + (isHeld() ? "" : ", released") + "]";
    }
}
