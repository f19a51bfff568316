package dev.wsprune;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The Java surface's conformance runner (tests/conformance/PROTOCOL.md): one
 * JSON request per line on stdin, one JSON response per line on stdout, until
 * end of input. Started by {@code tests/conformance/runners/java_runner.sh}. Every
 * operation goes through the public API, exactly as an application would.
 *
 * <p>Not expressible on this surface:
 * <ul>
 * <li>NaN or infinite hours, or hours beyond {@code Duration}'s range: a
 *     {@link Duration} cannot hold them.</li>
 * </ul>
 * An explicit 0 cap is expressible: the builder refuses it (INVALID_ARGUMENT),
 * and so is an idle TTL of 0. Times (until, expires_at, as_of) arrive as RFC
 * 3339 strings: an {@link java.time.Instant} each.
 */
public final class ConformanceRunner {
    private final List<String> events = Collections.synchronizedList(new ArrayList<>());

    ConformanceRunner() {}

    public static void main(String[] args) throws IOException {
        PrintStream out = new PrintStream(new java.io.FileOutputStream(java.io.FileDescriptor.out), false,
                StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        ConformanceRunner runner = new ConformanceRunner();
        runner.serve(in, out);
    }

    /** Answers every request line of {@code in} on {@code out}. */
    void serve(BufferedReader in, PrintStream out) throws IOException {
        WsPrune.setLogger(e -> events.add(e.name()));
        try {
            String line;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                out.println(Json.write(handle(line)));
                out.flush();
            }
        } finally {
            WsPrune.setLogger(null);
        }
    }

    /** One request line to one response object. */
    Map<String, Object> handle(String line) {
        events.clear();
        Map<String, Object> response = new LinkedHashMap<>();
        try {
            Map<?, ?> req = (Map<?, ?>) Json.parse(line);
            Path root;
            try {
                root = Path.of((String) req.get("root"));
            } catch (java.nio.file.InvalidPathException e) {
                // The API takes a Path, which cannot hold a NUL or a lone surrogate.
                return Map.of("not_expressible", "a java.nio.file.Path cannot hold it: " + e.getReason());
            }
            Map<?, ?> op = (Map<?, ?>) req.get("op");
            Object result = run(root, op);
            if (result instanceof NotExpressible ne) {
                return Map.of("not_expressible", ne.reason());
            }
            response.put("status", "ok");
            response.put("message", "");
            response.put("result", result);
        } catch (WsPruneException e) {
            response.put("status", e.status().wireName());
            response.put("message", e.getMessage());
            response.put("result", null);
        } catch (CannotExpress e) {
            return Map.of("not_expressible", String.valueOf(e.getMessage()));
        } catch (RuntimeException e) {
            response.put("status", "runner_error");
            response.put("message", e.toString());
            response.put("result", null);
        }
        response.put("events", new ArrayList<>(events));
        return response;
    }

    private record NotExpressible(String reason) {}

    /** A request this surface cannot express (answered {@code not_expressible}). */
    private static final class CannotExpress extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CannotExpress(String reason) {
            super(reason);
        }
    }

    /** The request's session options (dir_mode: octal text), or null when it sets none. */
    private static SessionOptions sessionOptions(Map<?, ?> op) {
        if (!op.containsKey("dir_mode") && !op.containsKey("adopt") && !op.containsKey("reserved")
                && !op.containsKey("idle_ttl_seconds") && !op.containsKey("expires_at") && !op.containsKey("labels")) {
            return null;
        }
        SessionOptions.Builder b = SessionOptions.builder();
        if (op.get("dir_mode") instanceof String m) {
            b.dirMode(Integer.parseInt(m, 8));
        }
        b.adopt(Boolean.TRUE.equals(op.get("adopt")));
        if (op.get("reserved") instanceof List<?> names) {
            for (Object n : names) {
                b.reserved(String.valueOf(n));
            }
        }
        if (op.get("idle_ttl_seconds") instanceof Number n) {
            b.idleTtl(Duration.ofSeconds(n.longValue()));
        }
        if (op.get("expires_at") instanceof String t) {
            b.expiresAt(java.time.Instant.parse(t));
        }
        if (op.get("labels") instanceof Map<?, ?> labels) {
            labels.forEach((k, v) -> b.label(String.valueOf(k), String.valueOf(v)));
        }
        return b.build();
    }

    /** The RFC 3339 time {@code op.get(key)}, or null when absent. */
    private static java.time.Instant when(Map<?, ?> op, String key) {
        return op.get(key) instanceof String t ? java.time.Instant.parse(t) : null;
    }

    private Object run(Path root, Map<?, ?> op) {
        String kind = (String) op.get("kind");
        String id = (String) op.get("id");
        switch (kind) {
            case "create": {
                SessionOptions o = sessionOptions(op);
                String created = o != null ? WsPrune.createSession(root, id, o)
                        : id == null ? WsPrune.createSession(root) : WsPrune.createSession(root, id);
                return Map.of("id", created);
            }
            case "open": {
                SessionOptions o = sessionOptions(op);
                OpenedSession s = o != null ? WsPrune.openSession(root, id, o) : WsPrune.openSession(root, id);
                return ordered("id", s.id(), "created", s.created());
            }
            case "migrate": {
                MigrateResult r = WsPrune.migrate(root, Boolean.TRUE.equals(op.get("dry_run")));
                List<Object> registered = new ArrayList<>();
                r.registered().forEach(m -> registered.add(m.id()));
                return ordered("registered", registered, "skipped", new ArrayList<Object>(new java.util.TreeSet<>(r.skipped().keySet())),
                        "dry_run", r.dryRun());
            }
            case "touch":
                return Map.of("outcome", WsPrune.touchSession(root, id).wireName());
            case "acquire": {
                boolean touch = Boolean.TRUE.equals(op.get("release_touch"));
                Lease lease = WsPrune.acquire(root, id);
                lease.release(touch);
                TouchOutcome touched = lease.touchOutcome();
                return Collections.singletonMap("touched", touched == null ? null : touched.wireName());
            }
            case "delete":
                return Map.of("reclaimed_bytes", WsPrune.deleteSession(root, id, Duration.ZERO,
                        Boolean.TRUE.equals(op.get("single_host")), Boolean.TRUE.equals(op.get("force"))));
            case "pin": {
                java.time.Instant until = when(op, "until");
                if (until == null) {
                    WsPrune.pinSession(root, id);
                } else {
                    WsPrune.pinSession(root, id, until);
                }
                return Map.of();
            }
            case "unpin":
                WsPrune.unpinSession(root, id);
                return Map.of();
            case "label": {
                List<String> changes = new java.util.ArrayList<>();
                if (op.get("changes") instanceof List<?> cs) {
                    cs.forEach(c -> changes.add(String.valueOf(c)));
                }
                return Map.of("labels", WsPrune.setLabels(root, id, changes.toArray(new String[0])));
            }
            case "set_ttl": {
                Duration idle = op.get("idle_ttl_seconds") instanceof Number n ? Duration.ofSeconds(n.longValue()) : null;
                WsPrune.setSessionTtl(root, id, idle, when(op, "expires_at"));
                return Map.of();
            }
            case "info": {
                SessionInfo info = WsPrune.sessionInfo(root, id);
                return ordered("state", info.state().wireName(), "size_bytes", info.sizeBytes(), "in_use", info.inUse());
            }
            case "stats": {
                WorkspaceStats s = WsPrune.workspaceStats(root, Boolean.TRUE.equals(op.get("measure_sizes")));
                Map<String, Object> sessions = new LinkedHashMap<>();
                for (Map.Entry<SessionState, Long> e : s.sessions().entrySet()) {
                    sessions.put(e.getKey().wireName(), e.getValue());
                }
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("sessions", sessions);
                m.put("leased", s.leased());
                m.put("total_bytes", s.totalBytes().isPresent() ? (Object) s.totalBytes().getAsLong() : null);
                m.put("idle_sessions", s.idle().stream().map(WorkspaceStats.IdleBucket::sessions).toList());
                m.put("idle_bytes", s.totalBytes().isPresent()
                        ? s.idle().stream().map(b -> b.bytes().getAsLong()).toList() : null);
                m.put("oldest_idle_hours", s.oldestIdle().map(Duration::toHours).orElse(null));
                m.put("filesystem_consistent", s.fsSizeBytes() > 0 && s.fsAvailableBytes() <= s.fsSizeBytes()
                        && s.fsFreeInodes() <= s.fsInodes());
                return m;
            }
            case "list": {
                Map<String, Object> sessions = new LinkedHashMap<>();
                Map<String, Object> labels = new LinkedHashMap<>();
                for (SessionListing s : WsPrune.listSessions(root)) {
                    sessions.put(s.id(), s.state().wireName());
                    labels.put(s.id(), s.labels().orElse(null));
                }
                Map<String, Object> out = new LinkedHashMap<>();
                out.put("sessions", sessions);
                out.put("labels", labels);
                return out;
            }
            case "repair":
                return Map.of("repaired", (long) WsPrune.repair(root, Boolean.TRUE.equals(op.get("dry_run"))).repaired().size());
            case "prune":
                return pruneResult(WsPrune.prune(root, options((Map<?, ?>) op.get("options"))));
            default:
                throw new IllegalArgumentException("unknown op kind " + kind);
        }
    }

    /** The neutral options vocabulary to the builder; an absent key stays unset. */
    static PruneOptions options(Map<?, ?> o) {
        PruneOptions.Builder b = PruneOptions.builder();
        if (o == null) {
            return b.build();
        }
        if (o.containsKey("older_than_hours")) {
            Object h = o.get("older_than_hours");
            if (h == null) {
                b.noAgeRule();
            } else {
                b.olderThan(hours(h));
            }
        }
        Map<String, java.util.function.LongConsumer> caps = Map.of(
                "max_total_bytes", b::maxTotalBytes,
                "max_sessions", b::maxSessions,
                "min_free_bytes", b::minFreeBytes,
                "max_deletions", b::maxDeletions,
                "max_sessions_per_owner", b::maxSessionsPerOwner,
                "max_bytes_per_owner", b::maxBytesPerOwner);
        for (Map.Entry<String, java.util.function.LongConsumer> c : caps.entrySet()) {
            if (o.get(c.getKey()) instanceof Number n) {
                c.getValue().accept(n.longValue());
            }
        }
        if (o.get("label_selector") instanceof String sel) {
            b.labelSelector(sel);
        }
        if (o.get("per_owner") instanceof String key) {
            b.perOwner(key);
        }
        Map<String, java.util.function.DoubleConsumer> percents = Map.of(
                "min_free_percent", b::minFreePercent,
                "high_watermark_percent", b::highWatermark,
                "low_watermark_percent", b::lowWatermark,
                "high_inode_watermark_percent", b::highInodeWatermark,
                "low_inode_watermark_percent", b::lowInodeWatermark);
        for (Map.Entry<String, java.util.function.DoubleConsumer> p : percents.entrySet()) {
            if (o.get(p.getKey()) instanceof Number n) {
                p.getValue().accept(n.doubleValue());
            }
        }
        if (o.get("min_age_hours") != null) {
            b.minAge(hours(o.get("min_age_hours")));
        }
        if (o.get("jobs") instanceof Number n) {
            b.jobs(n.intValue());
        }
        if (o.get("dry_run") instanceof Boolean d) {
            b.dryRun(d);
        }
        if (o.get("single_host") instanceof Boolean s) {
            b.singleHost(s);
        }
        if (o.get("as_of") instanceof String t) {
            b.asOf(java.time.Instant.parse(t));
        }
        return b.build();
    }

    /**
     * Hours (a number, or "NaN", "Infinity", "-Infinity") as a Duration;
     * negative stays negative: the library refuses it.
     */
    static Duration hours(Object v) {
        double h = v instanceof Number n ? n.doubleValue() : Double.parseDouble(String.valueOf(v));
        double secs = h * 3600.0;
        if (!Double.isFinite(secs) || Math.abs(secs) >= 0x1p62) {
            throw new CannotExpress("a java.time.Duration cannot hold " + v + " hours");
        }
        long whole = (long) Math.floor(secs);
        long nanos = Math.round((secs - whole) * 1e9);
        return Duration.ofSeconds(whole, nanos);
    }

    private static Map<String, Object> pruneResult(PruneResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("deleted", r.deleted());
        m.put("rules", r.deletedRules());
        m.put("skipped", r.skipped());
        m.put("errors", new ArrayList<>(r.errors().keySet()));
        m.put("interrupted", r.interrupted());
        m.put("unmet_targets", r.unmetTargets());
        List<Map<String, Object>> unmet = new ArrayList<>();
        for (PruneResult.UnmetTarget u : r.unmet()) {
            unmet.add(ordered("rule", u.rule(), "target", u.target(), "actual", u.actual()));
        }
        m.put("unmet", unmet);
        Map<String, Object> bytes = new LinkedHashMap<>();
        r.details().forEach((id, d) -> bytes.put(id, d.bytes()));
        m.put("deleted_bytes", bytes);
        m.put("reclaimed_bytes", r.reclaimedBytes());
        m.put("dry_run", r.dryRun());
        return m;
    }

    private static Map<String, Object> ordered(Object... kv) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) {
            m.put((String) kv[i], kv[i + 1]);
        }
        return m;
    }
}
