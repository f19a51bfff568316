package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LeaseTest {
    @TempDir
    Path tmp;

    private static final PruneOptions EVERY_IDLE = PruneOptions.builder().olderThan(Duration.ZERO).build();

    @Test
    void aLeasedSessionIsSkippedAsInUseUntilClosed() throws Exception {
        String id = TestSupport.session(tmp, Duration.ofHours(48), 10);
        try (Lease lease = WsPrune.acquire(tmp, id)) {
            assertTrue(lease.isHeld());
            assertEquals(id, lease.sessionId());
            assertEquals(tmp, lease.root());
            PruneResult r = WsPrune.prune(tmp, EVERY_IDLE);
            assertEquals(Map.of(id, "in_use"), r.skipped());
            assertEquals(List.of(), r.deleted());
        }
        assertEquals(List.of(id), WsPrune.prune(tmp, EVERY_IDLE).deleted());
    }

    @Test
    void closeIsIdempotentAndReleaseReportsWhetherItReleased() throws Exception {
        String id = TestSupport.session(tmp, Duration.ofHours(1), 0);
        Lease lease = WsPrune.acquire(tmp, id);
        lease.close();
        assertFalse(lease.isHeld());
        lease.close();
        assertFalse(lease.release(true), "already released");
        assertTrue(lease.toString().contains("released"));
        Lease second = WsPrune.acquire(tmp, id);
        assertTrue(second.release(false));
        assertFalse(second.release(false));
    }

    @Test
    void releaseWithTouchRefreshesUpdatedAt() throws Exception {
        String id = TestSupport.session(tmp, Duration.ofHours(30), 0);
        Instant before = TestSupport.updatedAt(tmp, id);
        try (Lease lease = WsPrune.acquire(tmp, id)) {
            assertEquals(before, TestSupport.updatedAt(tmp, id), "acquire alone does not touch");
            assertTrue(lease.release(true));
            assertEquals(TouchOutcome.UPDATED, lease.touchOutcome(), "what the touch did, from the C ABI");
        }
        assertTrue(Duration.between(TestSupport.updatedAt(tmp, id), Instant.now()).toMinutes() < 5);
        TestSupport.backdate(tmp, id, Duration.ofHours(30));
        try (Lease lease = WsPrune.acquire(tmp, id)) {
            assertNotNull(lease);
        }
        Instant after = TestSupport.updatedAt(tmp, id);
        assertTrue(Duration.between(after, Instant.now()).toHours() >= 29, "close() does not touch");
    }

    @Test
    void acquireMissingIsNotFound() {
        assertEquals(Status.NOT_FOUND, assertThrows(WsPruneException.class,
                () -> WsPrune.acquire(tmp, UUID.randomUUID().toString())).status());
    }

    @Test
    void concurrentReleasesReleaseOnce() throws Exception {
        String id = TestSupport.session(tmp, Duration.ofHours(1), 0);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            for (int round = 0; round < 20; round++) {
                Lease lease = WsPrune.acquire(tmp, id);
                CountDownLatch go = new CountDownLatch(1);
                List<Future<Boolean>> fs = new ArrayList<>();
                for (int t = 0; t < 8; t++) {
                    boolean touch = t % 2 == 0;
                    fs.add(pool.submit(() -> {
                        go.await();
                        return lease.release(touch);
                    }));
                }
                go.countDown();
                int released = 0;
                for (Future<Boolean> f : fs) {
                    released += f.get() ? 1 : 0;
                }
                assertEquals(1, released, "exactly one release wins");
            }
        } finally {
            pool.shutdownNow();
        }
        assertFalse(WsPrune.sessionInfo(tmp, id).inUse());
    }

    @Test
    void anUnreachableLeaseIsReleasedByTheCleaner() throws Exception {
        String id = TestSupport.session(tmp, Duration.ofHours(48), 0);
        acquireAndDrop(id);
        assertTrue(WsPrune.sessionInfo(tmp, id).inUse(), "held until collected");
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (WsPrune.sessionInfo(tmp, id).inUse() && System.nanoTime() < deadline) {
            System.gc();
            Thread.sleep(20);
        }
        assertFalse(WsPrune.sessionInfo(tmp, id).inUse(), "the Cleaner released the lease");
    }

    private void acquireAndDrop(String id) {
        Lease lease = WsPrune.acquire(tmp, id);
        assertTrue(lease.isHeld());
    }
}
