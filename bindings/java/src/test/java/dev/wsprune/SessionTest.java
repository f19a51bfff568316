package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
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
        assertEquals(TouchOutcome.UPDATED, WsPrune.touchSession(tmp, id));
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
        TestSupport.unregister(tmp, corrupted); // corrupted metadata: an unregistered directory
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
    void openSessionCreatesThenOpens() {
        OpenedSession first = WsPrune.openSession(tmp, null);
        assertTrue(first.created());
        OpenedSession again = WsPrune.openSession(tmp, first.id());
        assertEquals(new OpenedSession(first.id(), false), again);
    }

    @Test
    void listSessionsListsEverySessionSortedAndMeasured() throws Exception {
        Path ws = tmp.resolve("ws");
        String ok = "11111111-1111-4111-8111-111111111111";
        WsPrune.createSession(ws, ok);
        TestSupport.backdate(ws, ok, Duration.ofHours(2));
        Files.write(ws.resolve(ok).resolve("data.bin"), new byte[1000]);
        String legacy = "22222222-2222-4222-8222-222222222222";
        Files.createDirectories(ws.resolve(legacy));
        String corrupted = "00000000-0000-4000-8000-000000000000";
        WsPrune.createSession(ws, corrupted);
        TestSupport.unregister(ws, corrupted); // corrupted metadata: an unregistered directory
        Files.writeString(TestSupport.metadata(ws, corrupted), "{not json");
        String custom = WsPrune.createSession(ws, "build-42");
        // Not sessions: a custom-id name without metadata, a hidden directory, site-packages.
        Files.createDirectories(ws.resolve("not-a-session"));
        Files.createDirectories(ws.resolve(".hidden"));
        Files.createDirectories(ws.resolve("site-packages"));

        List<SessionListing> list;
        try (Lease lease = WsPrune.acquire(ws, legacy)) {
            list = WsPrune.listSessions(ws);
        }
        assertEquals(List.of(corrupted, ok, legacy, custom), list.stream().map(SessionListing::id).toList());

        SessionListing o = list.get(1);
        assertEquals(SessionState.OK, o.state());
        assertEquals(Optional.of(TestSupport.updatedAt(ws, ok)), o.updatedAt());
        assertEquals(o.updatedAt(), o.createdAt(), "backdate writes both");
        assertEquals(2.0, o.ageHours().orElseThrow(), 0.1);
        assertEquals(WsPrune.sessionInfo(ws, ok).sizeBytes(), o.sizeBytes().orElseThrow());
        assertTrue(o.sizeBytes().orElseThrow() >= 1000);
        assertFalse(o.inUse());
        assertEquals(Optional.empty(), o.problem());

        SessionListing l = list.get(2);
        assertEquals(SessionState.LEGACY, l.state());
        assertTrue(l.inUse(), "leased while listed");
        assertEquals(Optional.empty(), l.updatedAt());
        assertTrue(l.ageHours().isEmpty());

        SessionListing c = list.get(0);
        assertEquals(SessionState.CORRUPTED, c.state());
        assertFalse(c.problem().orElseThrow().isEmpty());
        assertTrue(c.sizeBytes().isPresent());
        assertEquals(SessionState.OK, list.get(3).state());
    }

    @Test
    void listSessionsOfAMissingOrEmptyRoot() throws Exception {
        Path ws = tmp.resolve("ws");
        assertEquals(Status.NOT_FOUND, assertThrows(WsPruneException.class, () -> WsPrune.listSessions(ws)).status());
        Files.createDirectories(ws);
        assertEquals(List.of(), WsPrune.listSessions(ws));
        assertEquals(Status.INVALID_ARGUMENT,
                assertThrows(WsPruneException.class, () -> WsPrune.listSessions(Path.of(""))).status());
    }

    @Test
    void listSessionsShowsAnUnreadableSessionWithAnUnknownSize() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeFalse("root".equals(System.getProperty("user.name")),
                "root reads every directory");
        Path ws = tmp.resolve("ws");
        String id = TestSupport.session(ws, Duration.ZERO, 10);
        Path dir = ws.resolve(id);
        Files.setPosixFilePermissions(dir, java.util.Set.of());
        try {
            SessionListing s = WsPrune.listSessions(ws).get(0);
            assertEquals(SessionState.UNREADABLE, s.state());
            assertTrue(s.sizeBytes().isEmpty());
            assertTrue(s.problem().isPresent());
        } finally {
            Files.setPosixFilePermissions(dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        }
    }

    @Test
    void readMetadataGivesTheFileAsStored() throws Exception {
        String id = "0f8fad5b-d9cb-469f-a165-70867728950e";
        Files.createDirectories(tmp.resolve(id));
        String stored = "{\"session_id\":\"" + id + "\",\"created_at\":\"2026-11-25T01:47:00.123456+00:00\","
                + "\"updated_at\":\"2026-11-25T02:00:00.000001+00:00\",\"version\":1,"
                + "\"runtime\":{\"name\":\"py\",\"tags\":[\"a\"]}}";
        Files.writeString(TestSupport.metadata(tmp, id), stored);
        StoredMetadata m = WsPrune.readMetadata(tmp, id.toUpperCase(java.util.Locale.ROOT));
        assertEquals(id, m.id(), "the name it was found under");
        assertEquals(SessionState.OK, m.state());
        assertEquals(Optional.of(Json.parse(stored)), m.metadata());
        assertEquals("2026-11-25T01:47:00.123456+00:00", m.metadata().orElseThrow().get("created_at"),
                "timestamps as the writer wrote them");
        assertEquals(List.of("session_id", "created_at", "updated_at", "version", "runtime"),
                List.copyOf(m.metadata().orElseThrow().keySet()), "fields in the file's order");
        assertEquals(Optional.empty(), m.problem());
        assertEquals(stored, Files.readString(TestSupport.metadata(tmp, id)), "nothing written");
    }

    @Test
    void readMetadataOfLegacyCorruptedMissingAndBadIds() throws Exception {
        String legacy = "22222222-2222-4222-8222-222222222222";
        Files.createDirectories(tmp.resolve(legacy));
        Files.createDirectories(tmp.resolve("custom-dir"));
        String bad = WsPrune.createSession(tmp);
        TestSupport.unregister(tmp, bad); // corrupted metadata: an unregistered directory
        Files.writeString(TestSupport.metadata(tmp, bad), "{");
        assertEquals(new StoredMetadata(legacy, SessionState.LEGACY, Optional.empty(), Optional.empty()),
                WsPrune.readMetadata(tmp, legacy));
        assertEquals(SessionState.LEGACY, WsPrune.readMetadata(tmp, "custom-dir").state());
        StoredMetadata c = WsPrune.readMetadata(tmp, bad);
        assertEquals(SessionState.CORRUPTED, c.state());
        assertTrue(c.metadata().isEmpty());
        assertFalse(c.problem().orElseThrow().isEmpty());
        assertEquals(Status.NOT_FOUND, assertThrows(WsPruneException.class,
                () -> WsPrune.readMetadata(tmp, "33333333-3333-4333-8333-333333333333")).status());
        assertEquals(Status.NOT_FOUND, assertThrows(WsPruneException.class,
                () -> WsPrune.readMetadata(tmp.resolve("none"), legacy)).status());
        for (String id : List.of("../etc", "..", "a/b")) {
            assertEquals(Status.INVALID_SESSION_ID,
                    assertThrows(WsPruneException.class, () -> WsPrune.readMetadata(tmp, id)).status(), id);
        }
    }

    @Test
    void versionAndLibraryPath() {
        assertTrue(WsPrune.version().matches("\\d+\\.\\d+\\.\\d+.*"), WsPrune.version());
        assertFalse(WsPrune.libraryPath().isEmpty());
    }
}
