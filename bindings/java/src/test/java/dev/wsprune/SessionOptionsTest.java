package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The session options (directory mode, adopt, reserved names) and migrate, on a real filesystem. */
class SessionOptionsTest {
    private static String mode(Path p) throws Exception {
        return PosixFilePermissions.toString(Files.getPosixFilePermissions(p));
    }

    private static boolean registered(Path root, String id) {
        return Files.exists(root.resolve(".wsprune/sessions/" + id));
    }

    @Test
    void dirModeUnsetIs0700AndBadModesAreRefused(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("ws");
        assertEquals("plain", WsPrune.createSession(root, "plain", SessionOptions.defaults()));
        assertEquals("rwx------", mode(root.resolve("plain")));
        WsPrune.createSession(root, "restricted", SessionOptions.builder().dirMode(0710).build());
        assertEquals("rwx--x---", mode(root.resolve("restricted")));
        for (int bad : new int[] {0, 01777, -1}) {
            WsPruneException e = assertThrows(WsPruneException.class, () -> SessionOptions.builder().dirMode(bad));
            assertEquals(Status.INVALID_ARGUMENT, e.status());
        }
        WsPruneException e = assertThrows(WsPruneException.class,
                () -> WsPrune.createSession(root, "bad", SessionOptions.builder().dirMode(0644).build()));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
        assertFalse(Files.exists(root.resolve("bad")));
    }

    @Test
    void adoptAndReservedNames(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("ws");
        Files.createDirectories(root.resolve("scratch"));
        Files.createDirectories(root.resolve("pip-cache"));
        WsPruneException e = assertThrows(WsPruneException.class,
                () -> WsPrune.openSession(root, "scratch", SessionOptions.defaults()));
        assertEquals(Status.NOT_FOUND, e.status());
        assertFalse(registered(root, "scratch"));
        OpenedSession s = WsPrune.openSession(root, "scratch", SessionOptions.builder().adopt(true).build());
        assertEquals("scratch", s.id());
        assertFalse(s.created());
        assertTrue(registered(root, "scratch"));
        SessionOptions reserved = SessionOptions.builder().adopt(true).reserved("pip-cache", "models").build();
        e = assertThrows(WsPruneException.class, () -> WsPrune.openSession(root, "pip-cache", reserved));
        assertEquals(Status.INVALID_SESSION_ID, e.status());
        e = assertThrows(WsPruneException.class, () -> WsPrune.createSession(root, "models", reserved));
        assertEquals(Status.INVALID_SESSION_ID, e.status());
        assertFalse(registered(root, "pip-cache"));
        assertFalse(Files.exists(root.resolve("models")));
        e = assertThrows(WsPruneException.class,
                () -> WsPrune.openSession(root, "x", SessionOptions.builder().reserved("a\0b").build()));
        assertEquals(Status.INVALID_ARGUMENT, e.status());
    }

    @Test
    void migrateDryRunThenForReal(@TempDir Path tmp) throws Exception {
        Path root = tmp.resolve("ws");
        String legacy = "11111111-2222-4333-8444-555555555555";
        String broken = "22222222-2222-4333-8444-555555555555";
        Files.createDirectories(root.resolve("old-nb"));
        Files.writeString(root.resolve("old-nb/.metadata.json"),
                "{\"session_id\": \"old-nb\", \"created_at\": \"2020-01-01T00:00:00+00:00\", \"updated_at\": \"2020-01-02T00:00:00+00:00\"}");
        Files.createDirectories(root.resolve(legacy));
        Files.createDirectories(root.resolve(broken));
        Files.writeString(root.resolve(broken + "/.metadata.json"), "{broken");
        MigrateResult dry = WsPrune.migrate(root, true);
        assertTrue(dry.dryRun());
        assertEquals(2, dry.registered().size());
        assertTrue(dry.skipped().containsKey(broken));
        assertFalse(registered(root, legacy) || registered(root, "old-nb"));
        MigrateResult real = WsPrune.migrate(root, false);
        assertEquals(2, real.registered().size());
        for (MigrateResult.Migrated m : real.registered()) {
            if (m.id().equals("old-nb")) {
                assertTrue(m.hadMetadata());
                assertTrue(m.updatedAt().startsWith("2020-01-02"));
            }
        }
        assertTrue(registered(root, legacy) && registered(root, "old-nb") && !registered(root, broken));
        WsPruneException e = assertThrows(WsPruneException.class, () -> WsPrune.migrate(root.resolve("missing"), false));
        assertEquals(Status.NOT_FOUND, e.status());
    }
}
