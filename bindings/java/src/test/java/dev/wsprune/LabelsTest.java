package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Label selectors and per-owner caps through the Java binding (docs/contract.md, "Labels"). */
class LabelsTest {
    @TempDir
    Path tmp;

    /** A registered session whose record carries {@code owner} and was last used {@code hours} ago. */
    String owned(Path root, String owner, long hours) throws IOException {
        String id = TestSupport.session(root, Duration.ofHours(hours), 0);
        Path record = TestSupport.record(root, id);
        String text = Files.readString(record, StandardCharsets.UTF_8);
        text = text.substring(0, text.lastIndexOf('}')) + ",\"labels\":{\"owner\":\"" + owner + "\"}}";
        Files.writeString(record, text, StandardCharsets.UTF_8);
        return id;
    }

    @Test
    void aSelectorLimitsThePruneToTheSessionsItMatches() throws IOException {
        Path root = tmp.resolve("ws");
        String alice = owned(root, "alice", 48);
        String bob = owned(root, "bob", 48);
        PruneResult r = WsPrune.prune(root, PruneOptions.builder().labelSelector("owner=alice").build());
        assertEquals(List.of(alice), r.deleted());
        assertTrue(Files.isDirectory(root.resolve(bob)));
    }

    @Test
    void perOwnerCapsEvictWithinEachOwner() throws IOException {
        Path root = tmp.resolve("ws");
        String a0 = owned(root, "alice", 10);
        owned(root, "alice", 9);
        owned(root, "alice", 8);
        String b = owned(root, "bob", 30);
        PruneResult r = WsPrune.prune(root, PruneOptions.builder().noAgeRule().minAge(Duration.ZERO)
                .perOwner("owner").maxSessionsPerOwner(2).build());
        assertEquals(List.of(a0), r.deleted());
        assertEquals(Map.of(a0, "max_sessions_per_owner"), r.deletedRules());
        assertTrue(Files.isDirectory(root.resolve(b)));
    }

    @Test
    void badLabelOptionsAreInvalidArguments() throws IOException {
        Path root = tmp.resolve("ws");
        String id = owned(root, "alice", 48);
        for (PruneOptions.Builder b : List.of(
                PruneOptions.builder().labelSelector(""),
                PruneOptions.builder().labelSelector("owner=al ice"),
                PruneOptions.builder().labelSelector("owner\0x"),
                PruneOptions.builder().labelSelector("owner=\uD800"),
                PruneOptions.builder().maxSessionsPerOwner(2))) {
            WsPruneException e = assertThrows(WsPruneException.class, () -> WsPrune.prune(root, b.build()));
            assertEquals(Status.INVALID_ARGUMENT, e.status(), e.getMessage());
        }
        assertThrows(WsPruneException.class, () -> PruneOptions.builder().maxSessionsPerOwner(0));
        assertTrue(Files.isDirectory(root.resolve(id)));
    }

    @Test
    void labelsAreSetAtCreateAndOpenAndChanged() throws IOException {
        Path root = tmp.resolve("ws");
        String id = WsPrune.createSession(root, null,
                SessionOptions.builder().label("owner", "alice").label("tier", "free").build());
        Path record = TestSupport.record(root, id);
        assertTrue(Files.readString(record).contains("\"tier\": \"free\""));
        WsPrune.openSession(root, id, SessionOptions.builder().label("tier", "pro").build());
        assertEquals(Map.of("owner", "alice", "gpu", ""), WsPrune.setLabels(root, id, "gpu=", "tier-"));
        for (String bad : List.of("owner", "own er=x", "x\0", "x=\uD800")) {
            WsPruneException e = assertThrows(WsPruneException.class, () -> WsPrune.setLabels(root, id, bad));
            assertEquals(Status.INVALID_ARGUMENT, e.status(), bad);
        }
        WsPruneException e = assertThrows(WsPruneException.class, () -> WsPrune.createSession(root, "s1",
                SessionOptions.builder().label("bad key", "x").build()));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertFalse(Files.exists(root.resolve("s1")));
        assertEquals(Status.NOT_FOUND,
                assertThrows(WsPruneException.class, () -> WsPrune.setLabels(root, "missing", "a=b")).status());
    }
}
