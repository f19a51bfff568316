package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

/** The runner answers protocol lines as tests/conformance/PROTOCOL.md says. */
@Isolated
class ConformanceRunnerTest {
    @TempDir
    Path tmp;

    private List<Map<?, ?>> serve(String... lines) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        new ConformanceRunner().serve(new BufferedReader(new StringReader(String.join("\n", lines))),
                new PrintStream(out, true, StandardCharsets.UTF_8));
        return out.toString(StandardCharsets.UTF_8).lines().<Map<?, ?>>map(l -> (Map<?, ?>) Json.parse(l)).toList();
    }

    private String req(String op) {
        return "{\"root\": " + Json.write(tmp.resolve("ws").toString()) + ", \"op\": " + op + "}";
    }

    @Test
    void createTouchPruneAndErrors() throws Exception {
        String old = "11111111-1111-4111-8111-111111111111";
        WsPrune.createSession(tmp.resolve("ws"), old);
        TestSupport.backdate(tmp.resolve("ws"), old, Duration.ofHours(48));
        List<Map<?, ?>> r = serve(
                req("{\"kind\": \"create\"}"),
                req("{\"kind\": \"touch\", \"id\": \"../etc\"}"),
                req("{\"kind\": \"prune\", \"options\": {\"dry_run\": true}}"),
                req("{\"kind\": \"prune\", \"options\": {\"max_sessions\": 0}}"),
                req("{\"kind\": \"prune\", \"options\": {\"older_than_hours\": null, \"max_sessions\": 1, \"min_age_hours\": 0}}"),
                req("{\"kind\": \"list\"}"));
        assertEquals(6, r.size());
        assertEquals("ok", r.get(0).get("status"));
        String created = (String) ((Map<?, ?>) r.get(0).get("result")).get("id");
        assertTrue(Files.isDirectory(tmp.resolve("ws").resolve(created)));
        assertEquals(List.of("session.created", "session.metadata.created"), r.get(0).get("events"));

        assertEquals("invalid_session_id", r.get(1).get("status"));
        assertFalse(((String) r.get(1).get("message")).isEmpty());

        Map<?, ?> dry = (Map<?, ?>) r.get(2).get("result");
        assertEquals(List.of(old), dry.get("deleted"));
        assertEquals(Map.of(old, "older_than"), dry.get("rules"));
        assertEquals(true, dry.get("dry_run"));
        assertTrue(((List<?>) r.get(2).get("events")).contains("session.prune.completed"));

        assertEquals("invalid_argument", r.get(3).get("status"));
        assertTrue(((String) r.get(3).get("message")).contains("omit it"));

        Map<?, ?> capped = (Map<?, ?>) r.get(4).get("result");
        assertEquals(List.of(old), capped.get("deleted"));
        assertEquals(Map.of(old, "max_sessions"), capped.get("rules"));
        assertEquals(List.of(created), TestSupport.names(tmp.resolve("ws")));

        assertEquals("ok", r.get(5).get("status"));
        assertEquals(Map.of("sessions", Map.of(created, "ok"), "labels", Map.of(created, Map.of())), r.get(5).get("result"));
    }

    @Test
    void touchOutcomesAcquireInfoDeleteRepair() throws Exception {
        Path ws = tmp.resolve("ws");
        String ok = WsPrune.createSession(ws);
        String legacy = "22222222-2222-4222-8222-222222222222";
        Files.createDirectories(ws.resolve(legacy));
        String bad = WsPrune.createSession(ws);
        TestSupport.unregister(ws, bad); // corrupted metadata: an unregistered directory
        Files.writeString(TestSupport.metadata(ws, bad), "{");
        List<Map<?, ?>> r = serve(
                req("{\"kind\": \"touch\", \"id\": \"" + ok + "\"}"),
                req("{\"kind\": \"touch\", \"id\": \"" + legacy + "\"}"),
                req("{\"kind\": \"touch\", \"id\": \"" + bad + "\"}"),
                req("{\"kind\": \"acquire\", \"id\": \"" + ok + "\", \"release_touch\": true}"),
                req("{\"kind\": \"acquire\", \"id\": \"" + ok + "\", \"release_touch\": false}"),
                req("{\"kind\": \"info\", \"id\": \"" + legacy + "\"}"),
                req("{\"kind\": \"repair\", \"dry_run\": true}"),
                req("{\"kind\": \"delete\", \"id\": \"" + ok + "\"}"),
                req("{\"kind\": \"delete\", \"id\": \"" + ok + "\"}"));
        assertEquals(Map.of("outcome", "updated"), r.get(0).get("result"));
        assertEquals(Map.of("outcome", "legacy"), r.get(1).get("result"));
        assertEquals(Map.of("outcome", "corrupted"), r.get(2).get("result"));
        assertEquals(Map.of("touched", "updated"), r.get(3).get("result"));
        assertTrue(((Map<?, ?>) r.get(4).get("result")).containsKey("touched"));
        assertNull(((Map<?, ?>) r.get(4).get("result")).get("touched"));
        Map<?, ?> info = (Map<?, ?>) r.get(5).get("result");
        assertEquals("legacy", info.get("state"));
        assertEquals(false, info.get("in_use"));
        // An empty directory's own allocated blocks: 0 on tmpfs, 4096 on ext4 (sizes are what du counts).
        assertEquals(TestSupport.du(ws.resolve(legacy)), info.get("size_bytes"), info.toString());
        assertEquals(Map.of("repaired", 2L), r.get(6).get("result"));
        assertTrue((Long) ((Map<?, ?>) r.get(7).get("result")).get("reclaimed_bytes") > 0);
        assertEquals("not_found", r.get(8).get("status"));
    }
}
