package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatsTest {
    @TempDir
    Path tmp;

    @Test
    void countsStatesLeasesAndIdleBucketsAndMeasuresSizesOnlyWhenAsked() throws Exception {
        Path root = tmp.resolve("ws");
        TestSupport.session(root, Duration.ofHours(30), 4000);
        String young = TestSupport.session(root, Duration.ofMinutes(5), 0);
        try (Lease lease = WsPrune.acquire(root, young)) {
            WorkspaceStats s = WsPrune.workspaceStats(root, true);
            assertEquals(2L, s.sessions().get(SessionState.OK));
            assertEquals(0L, s.sessions().get(SessionState.LEGACY));
            assertEquals(1L, s.leased());
            assertEquals(6, s.idle().size());
            assertEquals(1L, s.idle().get(0).sessions());
            assertEquals(1L, s.idle().get(3).sessions());
            assertEquals(86400.0, s.idle().get(2).upperSeconds());
            assertTrue(Double.isInfinite(s.idle().get(5).upperSeconds()));
            assertTrue(s.totalBytes().getAsLong() >= 4000);
            assertTrue(s.idle().get(3).bytes().getAsLong() >= 4000);
            assertEquals(30, s.oldestIdle().orElseThrow().toHours());
            assertTrue(s.fsSizeBytes() > 0 && s.fsAvailableBytes() <= s.fsSizeBytes());
            WorkspaceStats quick = WsPrune.workspaceStats(root, false);
            assertTrue(quick.totalBytes().isEmpty());
            assertTrue(quick.idle().stream().allMatch(b -> b.bytes().isEmpty()));
        }
        WsPruneException e = assertThrows(WsPruneException.class,
                () -> WsPrune.workspaceStats(root.resolve("missing"), false));
        assertEquals(Status.NOT_FOUND, e.status());
    }
}
