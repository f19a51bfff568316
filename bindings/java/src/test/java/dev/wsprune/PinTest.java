package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pins, per-session TTLs and the look-ahead (docs/contract.md) through the Java binding. */
class PinTest {
    private static String record(Path root, String id) throws Exception {
        return Files.readString(root.resolve(".wsprune/sessions/" + id));
    }

    @Test
    void aTtlIsWrittenIntoTheRecordAndDeletesTheSession(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("ws");
        SessionOptions ttl = SessionOptions.builder().idleTtl(Duration.ofHours(1))
                .expiresAt(Instant.now().plus(Duration.ofHours(2))).build();
        WsPrune.createSession(root, "ttl", ttl);
        assertTrue(record(root, "ttl").contains("\"idle_ttl_seconds\": 3600"), record(root, "ttl"));
        assertTrue(record(root, "ttl").contains("\"expires_at\""));
        WsPrune.setSessionTtl(root, "ttl", Duration.ofSeconds(1), null);
        assertFalse(record(root, "ttl").contains("expires_at"));
        WsPrune.createSession(root, "keep");
        WsPruneException e = assertThrows(WsPruneException.class,
                () -> WsPrune.setSessionTtl(root, "keep", Duration.ofMillis(500), null));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        // A fraction of a second is refused, not cut off (1.9 s was stored as 1 s).
        e = assertThrows(WsPruneException.class,
                () -> WsPrune.setSessionTtl(root, "keep", Duration.ofMillis(1900), null));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertFalse(record(root, "keep").contains("idle_ttl_seconds"));
        Thread.sleep(1200);
        PruneResult r = WsPrune.prune(root, PruneOptions.builder().noAgeRule().maxDeletions(5).build());
        assertEquals(List.of("ttl"), r.deleted());
        assertEquals(Map.of("ttl", "ttl"), r.deletedRules());
        WsPrune.setSessionTtl(root, "keep", null, null);
        assertFalse(record(root, "keep").contains("idle_ttl_seconds"));
    }

    @Test
    void aPinnedSessionIsSkippedAndDeletedOnlyWithForce(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("ws");
        WsPrune.createSession(root, "p", SessionOptions.builder().idleTtl(Duration.ofSeconds(1)).build());
        WsPrune.pinSession(root, "p", Instant.now().plus(Duration.ofHours(1)));
        assertTrue(record(root, "p").contains("\"pinned\": true"));
        Thread.sleep(1200);
        PruneResult r = WsPrune.prune(root, PruneOptions.defaults());
        assertEquals(List.of(), r.deleted());
        assertEquals(Map.of("p", "pinned"), r.skipped());
        Instant asOf = Instant.now().plus(Duration.ofHours(2));
        r = WsPrune.prune(root, PruneOptions.builder().dryRun(true).asOf(asOf).build());
        assertEquals(Map.of("p", "ttl"), r.deletedRules());
        WsPruneException e = assertThrows(WsPruneException.class,
                () -> WsPrune.prune(root, PruneOptions.builder().asOf(asOf).build()));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        e = assertThrows(WsPruneException.class, () -> WsPrune.deleteSession(root, "p", Duration.ZERO));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertTrue(e.getMessage().contains("pinned"), e.getMessage());
        WsPrune.unpinSession(root, "p");
        WsPrune.pinSession(root, "p");
        assertTrue(WsPrune.deleteSession(root, "p", Duration.ZERO, false, true) > 0);
        e = assertThrows(WsPruneException.class, () -> WsPrune.pinSession(root, "p"));
        assertEquals(Status.NOT_FOUND, e.status());
    }
}
