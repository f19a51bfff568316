package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SessionTest {
    @TempDir
    Path tmp;

    @Test
    void createNewSessionMakesRootDirectoryAndMetadata() throws Exception {
        Path root = tmp.resolve("ws");
        String id = WsPrune.createSession(root);
        assertEquals(id, UUID.fromString(id).toString(), "a canonical UUID");
        assertTrue(Files.isDirectory(root.resolve(id)));
        var md = TestSupport.readMetadata(root, id);
        assertEquals(id, md.get("session_id"));
        assertEquals(md.get("created_at"), md.get("updated_at"));
        assertNotEquals(id, WsPrune.createSession(root), "every new session gets its own id");
    }

    @Test
    void createWithIdAndAlreadyExists() {
        String id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        assertEquals(id, WsPrune.createSession(tmp, id));
        WsPruneException e = assertThrows(WsPruneException.class, () -> WsPrune.createSession(tmp, id));
        assertEquals(Status.ALREADY_EXISTS, e.status());
        assertFalse(e.getMessage().isEmpty());
    }

    @Test
    void traversalIdsAreInvalidAndTouchNothingOutside() throws Exception {
        Path root = tmp.resolve("ws");
        Files.createDirectories(root);
        for (String bad : List.of("../escape", "..", "a/b", "/etc", "x\0y", "\uD800")) {
            WsPruneException e = assertThrows(WsPruneException.class, () -> WsPrune.createSession(root, bad), bad);
            assertEquals(Status.INVALID_SESSION_ID, e.status(), bad);
            assertEquals(Status.INVALID_SESSION_ID,
                    assertThrows(WsPruneException.class, () -> WsPrune.touchSession(root, bad)).status());
            assertEquals(Status.INVALID_SESSION_ID,
                    assertThrows(WsPruneException.class, () -> WsPrune.acquire(root, bad)).status());
        }
        assertEquals(List.of("ws"), TestSupport.names(tmp), "nothing created beside the root");
        assertEquals(List.of(), TestSupport.names(root));
    }

    @Test
    void badRootsAreRefused() {
        assertEquals(Status.INVALID_ARGUMENT,
                assertThrows(WsPruneException.class, () -> WsPrune.createSession(Path.of(""))).status());
        Path file = tmp.resolve("file");
        assertDoesNotThrow(() -> Files.writeString(file, "x"));
        assertEquals(Status.IO,
                assertThrows(WsPruneException.class, () -> WsPrune.createSession(file)).status());
        assertThrows(NullPointerException.class, () -> WsPrune.createSession(null));
        assertThrows(NullPointerException.class, () -> WsPrune.touchSession(tmp, null));
    }

    @Test
    void touchUpdatesOnlyUpdatedAt() throws Exception {
        String id = TestSupport.session(tmp, Duration.ofHours(5), 0);
        var before = TestSupport.readMetadata(tmp, id);
        WsPrune.touchSession(tmp, id);
        var after = TestSupport.readMetadata(tmp, id);
        assertEquals(before.get("created_at"), after.get("created_at"));
        Instant updated = Instant.parse((String) after.get("updated_at"));
        assertTrue(Duration.between(updated, Instant.now()).abs().toMinutes() < 5, "updated_at is now: " + updated);
    }

    @Test
    void touchMissingSessionOrRootIsNotFound() {
        String id = UUID.randomUUID().toString();
        assertEquals(Status.NOT_FOUND,
                assertThrows(WsPruneException.class, () -> WsPrune.touchSession(tmp, id)).status());
        assertEquals(Status.NOT_FOUND,
                assertThrows(WsPruneException.class, () -> WsPrune.touchSession(tmp.resolve("none"), id)).status());
    }

    @Test
    void touchLegacyAndCorruptedAreNotErrors() throws Exception {
        String legacy = UUID.randomUUID().toString();
        Files.createDirectories(tmp.resolve(legacy));
        WsPrune.touchSession(tmp, legacy);
        assertFalse(Files.exists(TestSupport.metadata(tmp, legacy)), "touch does not invent metadata");

        String corrupted = WsPrune.createSession(tmp);
        Files.writeString(TestSupport.metadata(tmp, corrupted), "{not json");
        WsPrune.touchSession(tmp, corrupted);
        assertEquals("{not json", Files.readString(TestSupport.metadata(tmp, corrupted)), "left alone");
    }

    @Test
    void sessionInfoReportsStateSizeAndTimes() throws Exception {
        String id = TestSupport.session(tmp, Duration.ofHours(3), 1000);
        SessionInfo info = WsPrune.sessionInfo(tmp, id);
        assertEquals(id, info.id());
        assertEquals(SessionState.OK, info.state());
        assertFalse(info.inUse());
        assertTrue(info.sizeBytes() >= 1000, "size counts data.bin: " + info.sizeBytes());
        assertEquals(TestSupport.updatedAt(tmp, id), info.updatedAt().orElseThrow());
        assertEquals(TestSupport.updatedAt(tmp, id), info.createdAt().orElseThrow());
        try (Lease lease = WsPrune.acquire(tmp, id)) {
            assertTrue(WsPrune.sessionInfo(tmp, id).inUse());
        }
        String legacy = UUID.randomUUID().toString();
        Files.createDirectories(tmp.resolve(legacy));
        SessionInfo l = WsPrune.sessionInfo(tmp, legacy);
        assertEquals(SessionState.LEGACY, l.state());
        assertTrue(l.updatedAt().isEmpty());
        assertEquals(Status.NOT_FOUND, assertThrows(WsPruneException.class,
                () -> WsPrune.sessionInfo(tmp, UUID.randomUUID().toString())).status());
    }

    @Test
    void deleteSessionReturnsBytesAndRefusesLeased() throws Exception {
        String id = TestSupport.session(tmp, Duration.ZERO, 4096);
        String leased = TestSupport.session(tmp, Duration.ZERO, 10);
        try (Lease lease = WsPrune.acquire(tmp, leased)) {
            assertEquals(Status.BUSY, assertThrows(WsPruneException.class,
                    () -> WsPrune.deleteSession(tmp, leased, Duration.ZERO)).status());
        }
        long freed = WsPrune.deleteSession(tmp, id, Duration.ZERO);
        assertTrue(freed >= 4096, "bytes freed " + freed);
        assertFalse(Files.exists(tmp.resolve(id)));
        assertEquals(Status.NOT_FOUND, assertThrows(WsPruneException.class,
                () -> WsPrune.deleteSession(tmp, id, Duration.ZERO)).status());
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(WsPruneException.class,
                () -> WsPrune.deleteSession(tmp, leased, Duration.ofSeconds(-1))).status());
        assertEquals(List.of(leased), TestSupport.names(tmp));
    }

    @Test
    void repairGivesLegacySessionsMetadata() throws Exception {
        String legacy = UUID.randomUUID().toString();
        Files.createDirectories(tmp.resolve(legacy));
        Files.writeString(tmp.resolve(legacy).resolve("f.txt"), "x");
        RepairResult dry = WsPrune.repair(tmp, true);
        assertTrue(dry.dryRun());
        assertEquals(1, dry.repaired().size());
        assertFalse(Files.exists(TestSupport.metadata(tmp, legacy)), "a dry run writes nothing");

        RepairResult real = WsPrune.repair(tmp, false);
        assertFalse(real.dryRun());
        assertEquals(legacy, real.repaired().get(0).id());
        assertEquals("legacy", real.repaired().get(0).previousState());
        assertNotNull(real.repaired().get(0).updatedInstant());
        assertEquals(SessionState.OK, WsPrune.sessionInfo(tmp, legacy).state());
        assertEquals(Status.NOT_FOUND,
                assertThrows(WsPruneException.class, () -> WsPrune.repair(tmp.resolve("none"), false)).status());
    }

    @Test
    void openSessionCreatesThenOpensOrSaysTheLibraryIsTooOld() {
        if (!Lib.hasFunction("wsprune_session_open")) {
            UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                    () -> WsPrune.openSession(tmp, null));
            assertTrue(e.getMessage().contains("wsprune_session_open"), e.getMessage());
            assertTrue(e.getMessage().contains(WsPrune.version()), e.getMessage());
            return;
        }
        OpenedSession first = WsPrune.openSession(tmp, null);
        assertTrue(first.created());
        OpenedSession again = WsPrune.openSession(tmp, first.id());
        assertEquals(new OpenedSession(first.id(), false), again);
    }

    @Test
    void versionAndLibraryPath() {
        assertTrue(WsPrune.version().matches("\\d+\\.\\d+\\.\\d+.*"), WsPrune.version());
        assertFalse(WsPrune.libraryPath().isEmpty());
    }
}
