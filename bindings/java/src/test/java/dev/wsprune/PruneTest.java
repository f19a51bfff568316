package dev.wsprune;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PruneTest {
    @TempDir
    Path tmp;

    @Test
    void unsetOptionsAreExactlyTheLibrarysDefaults() throws Exception {
        LibWsPrune.PruneOptionsStruct init = PruneOptions.initStruct();
        LibWsPrune.PruneOptionsStruct built = PruneOptions.builder().build().toStruct(new java.util.ArrayList<>());
        assertEquals(init.struct_size, built.struct_size);
        assertEquals(init.size(), init.struct_size, "struct_size is the Java struct's size");
        for (java.lang.reflect.Field f : LibWsPrune.PruneOptionsStruct.class.getFields()) {
            String field = f.getName();
            assertEquals(init.getClass().getField(field).get(init), built.getClass().getField(field).get(built), field);
        }
        assertEquals(1, init.use_older_than, "the default keeps an age rule: never 'delete everything'");
        assertTrue(init.older_than_hours > 0, "default threshold " + init.older_than_hours);
        assertEquals(0, init.max_total_bytes);
        assertEquals(0, init.max_sessions);
    }

    @Test
    void optionsMapOntoTheStruct() {
        LibWsPrune.PruneOptionsStruct c = PruneOptions.builder().olderThan(Duration.ofMinutes(90))
                .minAge(Duration.ZERO).maxTotalBytes(5000).maxSessions(3).minFreeBytes(7).maxDeletions(2)
                .jobs(4).lockTimeout(Duration.ofNanos(1_500_001)).dryRun(true).build().toStruct(new java.util.ArrayList<>());
        assertEquals(1, c.use_older_than);
        assertEquals(1.5, c.older_than_hours, 1e-12);
        assertEquals(0.0, c.min_age_hours, "explicit zero: no floor");
        assertEquals(5000, c.max_total_bytes);
        assertEquals(3, c.max_sessions);
        assertEquals(7, c.min_free_bytes);
        assertEquals(2, c.max_deletions);
        assertEquals(4, c.jobs);
        assertEquals(2, c.lock_timeout_ms, "rounded up");
        assertEquals(1, c.dry_run);
        assertEquals(0, PruneOptions.builder().olderThan(Duration.ofHours(1)).noAgeRule().build().toStruct(new java.util.ArrayList<>()).use_older_than);
        assertEquals(-1, PruneOptions.builder().lockTimeout(Duration.ofDays(365)).build().toStruct(new java.util.ArrayList<>()).lock_timeout_ms,
                "capped at 2^32-1 ms (unsigned)");
        assertEquals(0, PruneOptions.builder().lockTimeout(Duration.ZERO).build().toStruct(new java.util.ArrayList<>()).lock_timeout_ms);
    }

    @Test
    void zeroCapsAreRefusedNeverDeleteMore() {
        PruneOptions.Builder b = PruneOptions.builder();
        for (Runnable r : List.<Runnable>of(() -> b.maxTotalBytes(0), () -> b.maxSessions(0), () -> b.minFreeBytes(0),
                () -> b.maxDeletions(0))) {
            WsPruneException e = assertThrows(WsPruneException.class, r::run);
            assertEquals(Status.INVALID_ARGUMENT, e.status());
            assertTrue(e.getMessage().contains("omit it to turn the rule off"), e.getMessage());
        }
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(WsPruneException.class, () -> b.maxSessions(-1)).status());
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(WsPruneException.class, () -> b.jobs(-1)).status());
        assertEquals(Status.INVALID_ARGUMENT,
                assertThrows(WsPruneException.class, () -> b.lockTimeout(Duration.ofMillis(-1))).status());
    }

    @Test
    void negativeHoursAreRefusedByTheLibrary() throws Exception {
        String id = TestSupport.session(tmp, Duration.ofHours(48), 0);
        for (PruneOptions o : List.of(PruneOptions.builder().olderThan(Duration.ofHours(-1)).build(),
                PruneOptions.builder().maxSessions(1).minAge(Duration.ofHours(-1)).build())) {
            assertEquals(Status.INVALID_ARGUMENT,
                    assertThrows(WsPruneException.class, () -> WsPrune.prune(tmp, o)).status(), o.toString());
        }
        assertTrue(Files.exists(tmp.resolve(id)));
    }

    @Test
    void defaultPruneDeletesOnlyStaleSessions() throws Exception {
        String old = TestSupport.session(tmp, Duration.ofHours(48), 100);
        String recent = TestSupport.session(tmp, Duration.ofHours(1), 100);
        PruneResult dry = WsPrune.prune(tmp, PruneOptions.builder().dryRun(true).build());
        assertTrue(dry.dryRun());
        assertEquals(List.of(old), dry.deleted());
        assertTrue(Files.exists(tmp.resolve(old)), "a dry run deletes nothing");

        PruneResult r = WsPrune.prune(tmp, PruneOptions.defaults());
        assertFalse(r.dryRun());
        assertEquals(List.of(old), r.deleted());
        assertEquals(Map.of(old, "older_than"), r.deletedRules());
        assertEquals(dry.reclaimedBytes(), r.reclaimedBytes());
        assertTrue(r.reclaimedBytes() >= 100);
        assertTrue(r.summary().startsWith("Pruned 1 session"), r.summary());
        assertEquals(r.summary(), r.toString());
        assertEquals(List.of(recent), TestSupport.names(tmp));
    }

    @Test
    void olderThanZeroIsEveryIdleSession() throws Exception {
        String a = TestSupport.session(tmp, Duration.ofMinutes(1), 0);
        String b = TestSupport.session(tmp, Duration.ofHours(2), 0);
        PruneResult r = WsPrune.prune(tmp, PruneOptions.builder().olderThan(Duration.ZERO).build());
        assertEquals(List.of(a, b).stream().sorted().toList(), r.deleted());
    }

    @Test
    void capacityRulesAloneEvictOldestFirst() throws Exception {
        String oldest = TestSupport.session(tmp, Duration.ofHours(10), 0);
        String middle = TestSupport.session(tmp, Duration.ofHours(5), 0);
        String newest = TestSupport.session(tmp, Duration.ofHours(3), 0);
        PruneResult r = WsPrune.prune(tmp, PruneOptions.builder().noAgeRule().maxSessions(2).build());
        assertEquals(List.of(oldest), r.deleted());
        assertEquals(Map.of(oldest, "max_sessions"), r.deletedRules());
        assertEquals(List.of(middle, newest).stream().sorted().toList(), TestSupport.names(tmp));
        assertTrue(r.unmetTargets().isEmpty(), r.unmetTargets().toString());
        PruneResult.DeletedSession d = r.details().get(oldest);
        assertEquals("max_sessions", d.rule());
        assertEquals(10.0, d.ageHours(), 0.1);
        assertEquals(r.reclaimedBytes(), d.bytes());
    }

    @Test
    void onlyACapacityRuleKeepsTheDefaultAgeRule() throws Exception {
        String stale = TestSupport.session(tmp, Duration.ofHours(48), 0);
        String fresh1 = TestSupport.session(tmp, Duration.ofHours(2), 0);
        String fresh2 = TestSupport.session(tmp, Duration.ofHours(3), 0);
        PruneResult r = WsPrune.prune(tmp, PruneOptions.builder().maxSessions(5).build());
        assertEquals(List.of(stale), r.deleted(), "the age rule still applies at its default");
        assertEquals(List.of(fresh1, fresh2).stream().sorted().toList(), TestSupport.names(tmp));
    }

    @Test
    void unreachableTargetsAreReported() throws Exception {
        String a = TestSupport.session(tmp, Duration.ofHours(10), 0);
        String b = TestSupport.session(tmp, Duration.ofHours(8), 0);
        try (Lease la = WsPrune.acquire(tmp, a); Lease lb = WsPrune.acquire(tmp, b)) {
            PruneResult r = WsPrune.prune(tmp, PruneOptions.builder().noAgeRule().minAge(Duration.ZERO).maxSessions(1).build());
            assertEquals(List.of(), r.deleted(), "both are leased");
            assertEquals(List.of("max_sessions"), r.unmetTargets());
            assertEquals(List.of(new PruneResult.UnmetTarget("max_sessions", 1, 2)), r.unmet());
        }
    }

    private static PruneResult withoutAges(PruneResult r) {
        java.util.Map<String, PruneResult.DeletedSession> d = new java.util.LinkedHashMap<>();
        r.details().forEach((id, x) -> d.put(id, new PruneResult.DeletedSession(x.rule(), x.bytes(), 0)));
        return new PruneResult(r.deleted(), r.deletedRules(), r.skipped(), r.errors(), r.interrupted(),
                r.unmetTargets(), r.reclaimedBytes(), r.dryRun(), r.summary(), d, r.interruptedBytes(), r.unmet());
    }

    @Test
    void maxDeletionsAndJobsAndSkips() throws Exception {
        for (int i = 0; i < 6; i++) {
            TestSupport.session(tmp, Duration.ofHours(50 + i), 0);
        }
        String legacy = UUID.randomUUID().toString();
        Files.createDirectories(tmp.resolve(legacy));
        String corrupted = TestSupport.session(tmp, Duration.ofHours(50), 0);
        TestSupport.unregister(tmp, corrupted); // corrupted metadata: an unregistered directory
        Files.writeString(TestSupport.metadata(tmp, corrupted), "[]");
        PruneResult dry1 = WsPrune.prune(tmp, PruneOptions.builder().jobs(1).dryRun(true).build());
        PruneResult dry8 = WsPrune.prune(tmp, PruneOptions.builder().jobs(8).dryRun(true).build());
        // The same result but for the idle ages, which grow between the two prunes.
        assertEquals(withoutAges(dry1), withoutAges(dry8), "jobs does not change the result");
        assertEquals(6, dry1.deleted().size());
        assertEquals("missing_metadata", dry1.skipped().get(legacy));
        assertEquals("corrupted_metadata", dry1.skipped().get(corrupted));
        PruneResult two = WsPrune.prune(tmp, PruneOptions.builder().maxDeletions(2).build());
        assertEquals(2, two.deleted().size());
        assertEquals(6, TestSupport.names(tmp).size());
    }

    @Test
    void resultsAreImmutable() throws Exception {
        TestSupport.session(tmp, Duration.ofHours(48), 0);
        PruneResult r = WsPrune.prune(tmp, PruneOptions.builder().dryRun(true).build());
        assertThrows(UnsupportedOperationException.class, () -> r.deleted().clear());
        assertThrows(UnsupportedOperationException.class, () -> r.deletedRules().clear());
        assertThrows(UnsupportedOperationException.class, () -> r.skipped().clear());
        assertThrows(UnsupportedOperationException.class, () -> r.errors().clear());
    }

    @Test
    void missingRootIsAnEmptyResult() {
        PruneResult r = WsPrune.prune(tmp.resolve("none"), PruneOptions.defaults());
        assertEquals(List.of(), r.deleted());
        assertEquals(0, r.reclaimedBytes());
    }

    @Test
    void legacyEntryPointAndJson() throws Exception {
        String old = TestSupport.session(tmp, Duration.ofHours(10), 0);
        assertEquals(List.of(old), WsPrune.prune(tmp, Duration.ofHours(5), true).deleted());
        String json = WsPrune.pruneJson(tmp, PruneOptions.builder().olderThan(Duration.ofHours(5)).dryRun(true).build());
        Object parsed = Json.parse(json);
        assertEquals(List.of(old), ((Map<?, ?>) parsed).get("deleted_sessions"));
        assertEquals(Status.INVALID_ARGUMENT, assertThrows(WsPruneException.class,
                () -> WsPrune.prune(tmp, Duration.ofHours(-1), true)).status());
    }
}
