package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.api.parallel.Isolated;

/** The logger is process-wide: these tests run alone. */
@Isolated
class EventsTest {
    @TempDir
    Path tmp;

    @AfterEach
    void off() {
        WsPrune.setLogger(null);
    }

    @Test
    void eventsArriveWithDecodedFields() throws Exception {
        List<Event> events = Collections.synchronizedList(new ArrayList<>());
        WsPrune.setLogger(events::add);
        String id = TestSupport.session(tmp, Duration.ofHours(48), 321);
        WsPrune.prune(tmp, PruneOptions.defaults());
        Event deleted = events.stream().filter(e -> e.name().equals("session.prune.deleted")).findFirst().orElseThrow();
        assertEquals(Level.INFO, deleted.level());
        assertEquals(id, deleted.fields().get("session_id"));
        assertEquals(Boolean.FALSE, deleted.fields().get("dry_run"));
        assertTrue(deleted.fields().get("reclaimed_bytes") instanceof Long);
        assertTrue((Long) deleted.fields().get("reclaimed_bytes") >= 321);
        assertEquals(deleted.fields(), Json.parse(deleted.fieldsJson()));
        Event completed = events.get(events.size() - 1);
        assertEquals("session.prune.completed", completed.name());
        assertEquals(1L, completed.fields().get("deleted_count"));
        assertTrue(events.stream().anyMatch(e -> e.name().equals("session.metadata.created")));
    }

    @Test
    void aLoggerThatThrowsNeverBreaksTheCall() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        WsPrune.setLogger(e -> {
            calls.incrementAndGet();
            throw new IllegalStateException("logger bug");
        });
        PrintStream saved = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, "UTF-8"));
        try {
            String id = TestSupport.session(tmp, Duration.ofHours(48), 0);
            assertEquals(List.of(id), WsPrune.prune(tmp, PruneOptions.defaults()).deleted());
            WsPrune.setLogger(e -> {
                throw new OutOfMemoryError("not really");
            });
            WsPrune.createSession(tmp);
        } finally {
            System.setErr(saved);
        }
        assertTrue(calls.get() >= 3, "the logger was called");
        String text = err.toString("UTF-8");
        assertTrue(text.contains("logger bug"), text);
        assertTrue(text.contains("not really"), text);
    }

    @Test
    void eventsFromManyThreadsAndWorkerJobs() throws Exception {
        Set<String> threads = ConcurrentHashMap.newKeySet();
        AtomicInteger deleted = new AtomicInteger();
        WsPrune.setLogger(e -> {
            threads.add(Thread.currentThread().getName());
            if (e.name().equals("session.prune.deleted")) {
                deleted.incrementAndGet();
            }
        });
        for (int i = 0; i < 40; i++) {
            TestSupport.session(tmp, Duration.ofHours(48), 10);
        }
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            Thread th = new Thread(() -> {
                for (int i = 0; i < 10; i++) {
                    WsPrune.createSession(tmp.resolve("other"));
                }
            }, "creator-" + t);
            th.start();
            ts.add(th);
        }
        PruneResult r = WsPrune.prune(tmp, PruneOptions.builder().jobs(8).build());
        for (Thread th : ts) {
            th.join();
        }
        assertEquals(40, r.deleted().size());
        assertEquals(40, deleted.get());
        assertTrue(threads.containsAll(List.of("creator-0", "creator-1", "creator-2", "creator-3")), threads.toString());
    }

    @Test
    void theRegisteredCallbackSurvivesGarbageCollection() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        WsPrune.setLogger(e -> calls.incrementAndGet());
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(10);
        }
        WsPrune.createSession(tmp);
        assertTrue(calls.get() > 0, "still delivered after GC");
    }

    @Test
    void nullTurnsEventsOffAndReplacingIsClean() throws Exception {
        AtomicInteger first = new AtomicInteger();
        AtomicInteger second = new AtomicInteger();
        WsPrune.setLogger(e -> first.incrementAndGet());
        WsPrune.createSession(tmp);
        WsPrune.setLogger(e -> second.incrementAndGet());
        int firstCount = first.get();
        WsPrune.createSession(tmp);
        assertEquals(firstCount, first.get(), "the replaced logger gets nothing");
        assertTrue(second.get() > 0);
        WsPrune.setLogger(null);
        int secondCount = second.get();
        WsPrune.createSession(tmp);
        assertEquals(secondCount, second.get());
    }

    /**
     * A logger that calls setLogger while another thread is in setLogger(null),
     * waiting in the library for that very logger to return: must not
     * deadlock, and the later call (the logger's) wins.
     */
    @Test
    void setLoggerFromALoggerWhileAnotherThreadTurnsEventsOff() throws Exception {
        java.util.concurrent.CountDownLatch inside = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch turningOff = new java.util.concurrent.CountDownLatch(1);
        AtomicInteger replacement = new AtomicInteger();
        WsPrune.setLogger(e -> {
            if (e.name().equals("session.metadata.created") && inside.getCount() > 0) {
                inside.countDown();
                try {
                    turningOff.await();
                    Thread.sleep(300); // the other thread is now waiting in wsprune_set_log_callback
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                }
                WsPrune.setLogger(ev -> replacement.incrementAndGet());
            }
        });
        Thread creator = new Thread(() -> WsPrune.createSession(tmp));
        creator.setDaemon(true);
        creator.start();
        assertTrue(inside.await(10, java.util.concurrent.TimeUnit.SECONDS));
        Thread off = new Thread(() -> {
            turningOff.countDown();
            WsPrune.setLogger(null);
        });
        off.setDaemon(true);
        off.start();
        creator.join(10_000);
        off.join(10_000);
        assertFalse(creator.isAlive() || off.isAlive(), "deadlock between setLogger calls");
        WsPrune.createSession(tmp);
        assertTrue(replacement.get() > 0, "the logger's own setLogger came last and is in place");
    }

    @Test
    void aLoggerMayCallTheLibrary() throws Exception {
        List<String> versions = Collections.synchronizedList(new ArrayList<>());
        WsPrune.setLogger(e -> {
            versions.add(WsPrune.version());
            if (e.name().equals("session.metadata.created")) {
                WsPrune.setLogger(ev -> versions.add("replaced"));
            }
        });
        WsPrune.createSession(tmp);
        WsPrune.createSession(tmp);
        assertTrue(versions.contains(WsPrune.version()));
        assertTrue(versions.contains("replaced"));
    }
}
