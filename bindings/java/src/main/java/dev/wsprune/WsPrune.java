package dev.wsprune;

import com.sun.jna.Pointer;
import com.sun.jna.ptr.LongByReference;
import com.sun.jna.ptr.PointerByReference;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * wsprune for Java: per-session workspace directories under a workspace root
 * ({@code <root>/<id>/.metadata.json}), touched while used, leased while code
 * runs in them, and pruned when stale. Every method calls libwsprune's C ABI
 * through JNA; nothing is reimplemented here.
 *
 * <p>Every method may be called from any thread concurrently. Failures are
 * {@link WsPruneException} (unchecked) with the library's {@link Status} and
 * message; a null argument is a {@link NullPointerException}.
 *
 * <p>The library is loaded at the first call: from {@code $WSPRUNE_LIBRARY}
 * (a file path) if set, else as {@code wsprune} through {@code jna.library.path}
 * and the system loader ({@code LD_LIBRARY_PATH}, ldconfig's directories).
 */
public final class WsPrune {
    /** Session ids are at most 255 bytes: an out_id buffer of 256 holds any of them. */
    static final int ID_BUFFER = 256;

    private WsPrune() {}

    /** The loaded library's version, e.g. {@code "0.2.0"}. */
    public static String version() {
        return Lib.api().wsprune_version();
    }

    /** Where the library was loaded from. */
    public static String libraryPath() {
        return Lib.origin();
    }

    /**
     * Creates a new session with a random UUIDv4 id under {@code root}
     * (creating the root if missing) and returns its id.
     */
    public static String createSession(Path root) {
        return create(Lib.root(root), null);
    }

    /**
     * Creates session {@code id} (a UUID, in any spelling, or a custom safe
     * name where the library accepts one) and returns its id (the canonical
     * spelling for a UUID). {@link Status#ALREADY_EXISTS} if it exists;
     * {@link Status#INVALID_SESSION_ID} if {@code id} is not a valid id.
     */
    public static String createSession(Path root, String id) {
        return create(Lib.root(root), Lib.id(id));
    }

    private static String create(String root, String id) {
        byte[] out = new byte[ID_BUFFER];
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_create(root, id, out, out.length, err), err);
        return Lib.fromBuffer(out);
    }

    /**
     * Opens session {@code id}, creating it if missing (null {@code id}: a new
     * UUIDv4 session). An existing legacy directory gets fresh metadata.
     */
    public static OpenedSession openSession(Path root, String id) {
        String r = Lib.root(root);
        String i = id == null ? null : Lib.id(id);
        byte[] out = new byte[ID_BUFFER];
        byte[] created = new byte[1];
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_open(r, i, out, out.length, created, err), err);
        return new OpenedSession(Lib.fromBuffer(out), created[0] != 0);
    }

    /**
     * Creates session {@code id} (null: a new UUIDv4) with {@code options}:
     * the directory's mode and more reserved names ({@code adopt} does not
     * apply). Returns its id. A reserved name is
     * {@link Status#INVALID_SESSION_ID}; a bad mode {@link Status#INVALID_ARGUMENT}.
     */
    public static String createSession(Path root, String id, SessionOptions options) {
        String r = Lib.root(root);
        String i = id == null ? null : Lib.id(id);
        List<com.sun.jna.Memory> keep = new ArrayList<>();
        LibWsPrune.SessionOptionsStruct o = java.util.Objects.requireNonNull(options, "options").toNative(keep);
        byte[] out = new byte[ID_BUFFER];
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_create_with_options(r, i, o, out, out.length, err), err);
        java.lang.ref.Reference.reachabilityFence(keep);
        return Lib.fromBuffer(out);
    }

    /**
     * Opens session {@code id}, creating it if missing (null: a new UUIDv4),
     * with {@code options}: a registered session is opened, a directory with
     * valid metadata is registered with it, any other directory is
     * {@link Status#NOT_FOUND} unless {@code options} adopts it; a created
     * session gets the options' directory mode; a reserved name is
     * {@link Status#INVALID_SESSION_ID}.
     */
    public static OpenedSession openSession(Path root, String id, SessionOptions options) {
        String r = Lib.root(root);
        String i = id == null ? null : Lib.id(id);
        List<com.sun.jna.Memory> keep = new ArrayList<>();
        LibWsPrune.SessionOptionsStruct o = java.util.Objects.requireNonNull(options, "options").toNative(keep);
        byte[] out = new byte[ID_BUFFER];
        byte[] created = new byte[1];
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_open_with_options(r, i, o, out, out.length, created, err), err);
        java.lang.ref.Reference.reachabilityFence(keep);
        return new OpenedSession(Lib.fromBuffer(out), created[0] != 0);
    }

    /**
     * Registers every session an older writer left (the reference
     * implementation, wsprune 0.3): valid metadata is trusted this once, a
     * UUID directory without metadata is dated now; corrupted metadata and
     * locked directories are skipped and listed. With {@code dryRun},
     * registers nothing. {@link Status#NOT_FOUND} if the root is missing.
     */
    /**
     * Sets ({@code "key=value"}) and removes ({@code "key-"}) labels of a
     * registered session, in order, all checked before any is made
     * (docs/contract.md, "Labels"), and returns its labels. A bad change, or
     * one leaving more than 32 labels, is {@link Status#INVALID_ARGUMENT}, and
     * so is an unregistered directory; a missing session {@link Status#NOT_FOUND}.
     */
    public static Map<String, String> setLabels(Path root, String id, String... changes) {
        String r = Lib.root(root);
        String sid = Lib.id(id);
        List<com.sun.jna.Memory> keepAlive = new ArrayList<>();
        Pointer array = SessionOptions.stringArray(List.of(changes), "label change", keepAlive);
        PointerByReference json = new PointerByReference();
        PointerByReference err = new PointerByReference();
        try {
            Lib.check(Lib.api().wsprune_session_set_labels(r, sid, array, changes.length, json, err), err);
        } finally {
            java.lang.ref.Reference.reachabilityFence(keepAlive);
        }
        Map<String, String> labels = new LinkedHashMap<>();
        ((Map<?, ?>) takeJson(json)).forEach((k, v) -> labels.put(String.valueOf(k), String.valueOf(v)));
        return labels;
    }

    public static MigrateResult migrate(Path root, boolean dryRun) {
        String r = Lib.root(root);
        PointerByReference json = new PointerByReference();
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_migrate_sessions(r, Lib.cBool(dryRun), json, err), err);
        Map<?, ?> m = (Map<?, ?>) takeJson(json);
        List<MigrateResult.Migrated> registered = new ArrayList<>();
        for (Object x : (List<?>) m.get("registered")) {
            Map<?, ?> e = (Map<?, ?>) x;
            registered.add(new MigrateResult.Migrated((String) e.get("session_id"),
                    Boolean.TRUE.equals(e.get("had_metadata")), String.valueOf(e.get("updated_at"))));
        }
        Map<String, String> skipped = new LinkedHashMap<>();
        if (m.get("skipped") instanceof Map<?, ?> sm) {
            sm.forEach((k, v) -> skipped.put(String.valueOf(k), String.valueOf(v)));
        }
        return new MigrateResult(registered, skipped, Boolean.TRUE.equals(m.get("dry_run")));
    }

    /**
     * Sets the session's updated_at to now, keeping every other field. A
     * legacy session (no metadata) and corrupted metadata (left untouched, a
     * warning event) are not errors; a missing session is {@link Status#NOT_FOUND}.
     *
     * @return what the touch did (since 0.4.0)
     */
    public static TouchOutcome touchSession(Path root, String id) {
        String r = Lib.root(root);
        String i = Lib.id(id);
        PointerByReference err = new PointerByReference();
        com.sun.jna.ptr.IntByReference outcome = new com.sun.jna.ptr.IntByReference(-1);
        Lib.check(Lib.api().wsprune_session_touch_outcome(r, i, outcome, err), err);
        return TouchOutcome.fromCode(outcome.getValue());
    }

    /**
     * Takes a lease on the session for as long as code runs in it (see
     * {@link Lease}). Waits up to 2 s while a prune is deciding about the
     * session, then {@link Status#BUSY}; {@link Status#NOT_FOUND} if it does not exist.
     */
    public static Lease acquire(Path root, String id) {
        String r = Lib.root(root);
        String i = Lib.id(id);
        PointerByReference lease = new PointerByReference();
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_acquire(r, i, lease, err), err);
        return new Lease(root, i, lease.getValue());
    }

    /**
     * Prunes the sessions under {@code root} that the options' rules select.
     * A missing root gives an empty result; {@link Status#BUSY} if another
     * prune of the root held it longer than the lock timeout.
     */
    public static PruneResult prune(Path root, PruneOptions options) {
        return pruneWith(root, options, PruneResult::copyOf);
    }

    /**
     * The original entry point ({@code wsprune_prune_sessions}): the age rule
     * alone with threshold {@code olderThan}.
     */
    public static PruneResult prune(Path root, Duration olderThan, boolean dryRun) {
        String r = Lib.root(root);
        double h = PruneOptions.hours(Objects.requireNonNull(olderThan, "olderThan"));
        PointerByReference err = new PointerByReference();
        Pointer res = Lib.api().wsprune_prune_sessions(r, h, Lib.cBool(dryRun), err);
        return takeResult(res, err, PruneResult::copyOf);
    }

    private static <T> T takeResult(Pointer res, PointerByReference err, Function<Pointer, T> read) {
        if (res == null) {
            throw Lib.takeError(Status.INVALID_ARGUMENT.code(), err);
        }
        try {
            return read.apply(res);
        } finally {
            Lib.api().wsprune_prune_result_free(res);
        }
    }

    /** Prunes with {@code options} and reads the C result with {@code read} before freeing it. */
    private static <T> T pruneWith(Path root, PruneOptions options, Function<Pointer, T> read) {
        String r = Lib.root(root);
        List<com.sun.jna.Memory> keepAlive = new ArrayList<>();
        LibWsPrune.PruneOptionsStruct c = Objects.requireNonNull(options, "options").toStruct(keepAlive);
        PointerByReference err = new PointerByReference();
        try {
            return takeResult(Lib.api().wsprune_prune_sessions_with_options(r, c, err), err, read);
        } finally {
            java.lang.ref.Reference.reachabilityFence(keepAlive);
        }
    }

    /**
     * The prune's JSON as the library writes it ({@code wsprune_prune_result_to_json}),
     * for callers who store or forward it.
     */
    public static String pruneJson(Path root, PruneOptions options) {
        return pruneWith(root, options, res -> takeString(Lib.api().wsprune_prune_result_to_json(res)));
    }

    /**
     * Deletes a session now, whatever its age or metadata, and returns the
     * bytes freed. A leased session is {@link Status#BUSY} once {@code wait}
     * has passed ({@code Duration.ZERO}: do not wait); a missing one {@link Status#NOT_FOUND}.
     */
    public static long deleteSession(Path root, String id, Duration wait) {
        return deleteSession(root, id, wait, false);
    }

    /**
     * {@link #deleteSession(Path, String, Duration)}; {@code singleHost} declares
     * that no other host uses the root, so a root on NFS, SMB, 9p or FUSE is
     * deleted from (with a "workspace.shared_filesystem" warning event) instead
     * of refused with {@link Status#INVALID_ARGUMENT}.
     */
    public static long deleteSession(Path root, String id, Duration wait, boolean singleHost) {
        return deleteSession(root, id, wait, singleHost, false);
    }

    /**
     * {@link #deleteSession(Path, String, Duration, boolean)}; {@code force}
     * deletes a pinned session too (without it a pinned session is
     * {@link Status#INVALID_ARGUMENT}).
     */
    public static long deleteSession(Path root, String id, Duration wait, boolean singleHost, boolean force) {
        String r = Lib.root(root);
        String i = Lib.id(id);
        Objects.requireNonNull(wait, "wait");
        if (wait.isNegative()) {
            throw new WsPruneException(Status.INVALID_ARGUMENT, "wait must not be negative");
        }
        LongByReference bytes = new LongByReference();
        PointerByReference err = new PointerByReference();
        long flags = (singleHost ? LibWsPrune.FLAG_SINGLE_HOST : 0) | (force ? LibWsPrune.FLAG_FORCE : 0);
        Lib.check(Lib.api().wsprune_session_delete_with_flags(r, i, PruneOptions.millisCeil(wait), flags, bytes, err),
                err);
        return bytes.getValue();
    }

    /**
     * Pins a session until it is unpinned: no prune rule (age, capacity, TTL)
     * deletes it (a prune reports it skipped, reason "pinned"), and
     * {@link #deleteSession(Path, String, Duration, boolean, boolean)} needs
     * {@code force}. Only a registered session can be pinned (an unregistered
     * 0.3 directory is {@link Status#INVALID_ARGUMENT}); a missing one is
     * {@link Status#NOT_FOUND}.
     */
    public static void pinSession(Path root, String id) {
        pin(root, id, 0);
    }

    /** {@link #pinSession(Path, String)} until {@code until} (later than now). */
    public static void pinSession(Path root, String id, java.time.Instant until) {
        pin(root, id, Lib.micros(Objects.requireNonNull(until, "until")));
    }

    private static void pin(Path root, String id, long untilUs) {
        String r = Lib.root(root);
        String i = Lib.id(id);
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_pin(r, i, untilUs, err), err);
    }

    /** Removes a session's pin (an unpinned session is fine). */
    public static void unpinSession(Path root, String id) {
        String r = Lib.root(root);
        String i = Lib.id(id);
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_unpin(r, i, err), err);
    }

    /**
     * Replaces a session's own TTL: {@code idleTtl} (whole seconds, at least
     * 1 s) and {@code expiresAt}, each {@code null} for none; a prune deletes
     * it once either has passed, whatever its age rule, never while it is
     * leased or pinned. Both {@code null} removes the TTL.
     */
    public static void setSessionTtl(Path root, String id, Duration idleTtl, java.time.Instant expiresAt) {
        String r = Lib.root(root);
        String i = Lib.id(id);
        long idle = idleTtl == null ? 0 : Lib.ttl(idleTtl).getSeconds();
        long at = expiresAt == null ? 0 : Lib.micros(expiresAt);
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_set_ttl(r, i, idle, at, err), err);
    }

    /**
     * The root's statistics: sessions by state, leases, idle-time buckets, the
     * oldest idle time and the filesystem's capacity; with {@code measureSizes}
     * also the sessions' sizes (a walk of each, as {@link #listSessions} does).
     * Reads only. A missing root is {@link Status#NOT_FOUND}.
     */
    public static WorkspaceStats workspaceStats(Path root, boolean measureSizes) {
        return WorkspaceStats.gather(root, measureSizes);
    }

    /** What is known about a session; changes nothing. {@link Status#NOT_FOUND} if missing. */
    public static SessionInfo sessionInfo(Path root, String id) {
        String r = Lib.root(root);
        String i = Lib.id(id);
        LibWsPrune.SessionDetailsStruct d = new LibWsPrune.SessionDetailsStruct();
        d.struct_size = d.size();
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_info(r, i, d, err), err);
        SessionState st = SessionState.fromCode(d.state);
        return new SessionInfo(i, SessionInfo.fromMicros(st, d.created_at_us), SessionInfo.fromMicros(st, d.updated_at_us),
                d.size_bytes, st, d.in_use != 0);
    }

    /**
     * Every session under {@code root} (what a prune would consider), sorted
     * by id, each measured: the form of {@code wsprune ls --json}. An
     * unreadable session is listed with state {@link SessionState#UNREADABLE},
     * an unknown size and the reason in {@code problem}. {@link Status#NOT_FOUND}
     * if the root is missing.
     */
    public static List<SessionListing> listSessions(Path root) {
        String r = Lib.root(root);
        PointerByReference json = new PointerByReference();
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_list_sessions(r, json, err), err);
        List<SessionListing> out = new ArrayList<>();
        for (Object o : (List<?>) takeJson(json)) {
            out.add(SessionListing.fromJson((Map<?, ?>) o));
        }
        return List.copyOf(out);
    }

    /**
     * The session's metadata as stored, measuring and locking nothing (see
     * {@link StoredMetadata}). A UUID is found under any spelling;
     * {@link Status#NOT_FOUND} if the session or root is missing.
     */
    public static StoredMetadata readMetadata(Path root, String id) {
        String r = Lib.root(root);
        String i = Lib.id(id);
        PointerByReference json = new PointerByReference();
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_session_read_metadata(r, i, json, err), err);
        return StoredMetadata.fromJson((Map<?, ?>) takeJson(json));
    }

    /**
     * Explicit repair: gives every legacy or corrupted session metadata dated
     * by the newest modification time found in it. {@link Status#NOT_FOUND} if
     * the root is missing.
     */
    public static RepairResult repair(Path root, boolean dryRun) {
        String r = Lib.root(root);
        LongByReference n = new LongByReference();
        PointerByReference json = new PointerByReference();
        PointerByReference err = new PointerByReference();
        Lib.check(Lib.api().wsprune_repair_sessions(r, Lib.cBool(dryRun), n, json, err), err);
        Map<?, ?> m = (Map<?, ?>) takeJson(json);
        List<RepairResult.Repaired> repaired = new ArrayList<>();
        for (Object o : (List<?>) m.get("repaired")) {
            Map<?, ?> e = (Map<?, ?>) o;
            repaired.add(new RepairResult.Repaired((String) e.get("session_id"), String.valueOf(e.get("previous_state")),
                    String.valueOf(e.get("updated_at"))));
        }
        Map<String, String> errors = new LinkedHashMap<>();
        Object errs = m.get("errors");
        if (errs instanceof Map<?, ?> em) {
            em.forEach((k, v) -> errors.put(String.valueOf(k), String.valueOf(v)));
        }
        return new RepairResult(repaired, errors, Boolean.TRUE.equals(m.get("dry_run")));
    }

    /**
     * Installs the process-wide receiver of the library's events; null turns
     * them off. The logger runs synchronously on the thread doing the work,
     * which may be a native worker thread of a prune and several at once: it
     * must be thread-safe and quick. It may call this class (setLogger
     * included). An exception it throws is caught, reported on standard error,
     * and the event is dropped: nothing propagates into native code. When
     * this method returns, the previous logger gets no new calls; a call
     * already running on another thread may still finish. {@code null} also
     * unregisters from the library (waiting for calls in progress), so that
     * operations no longer pay for events.
     */
    public static void setLogger(Consumer<Event> logger) {
        Logging.set(logger);
    }

    /** Parses and frees the JSON document a {@code char **out_json} received. */
    private static Object takeJson(PointerByReference json) {
        return Json.parse(takeString(json.getValue()));
    }

    /** Copies and frees a {@code char *} the library handed over. */
    private static String takeString(Pointer p) {
        if (p == null) {
            return null;
        }
        try {
            return p.getString(0, StandardCharsets.UTF_8.name());
        } finally {
            Lib.api().wsprune_string_free(p);
        }
    }
}
