/*
 * C ABI tests for the retention policies and single-session operations
 * beyond age: wsprune_prune_options and its versioning, per-deletion rules,
 * the workspace lock, wsprune_session_delete, wsprune_session_info and
 * wsprune_repair_sessions. Built and run (also under the sanitizers and
 * valgrind) by tests/c/run.sh, like test_wsprune.c.
 */
#define _DEFAULT_SOURCE
#include <fcntl.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wsprune.h"
#include "check.h"



static char base[128];
static int counter;

static void new_root(char *out, size_t n) {
    snprintf(out, n, "%s/ws%d", base, counter++);
    mkdir(out, 0755);
}

static int exists_in(const char *root, const char *id) {
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", root, id);
    return lstat(p, &st) == 0;
}

/* A session `id` whose metadata says it was last used on `day` of January 2020. */
static void old_session(const char *root, const char *id, int day, size_t blob) {
    char dir[512], path[600];
    snprintf(dir, sizeof dir, "%s/%s", root, id);
    mkdir(dir, 0755);
    snprintf(path, sizeof path, "%s/.metadata.json", dir);
    FILE *f = fopen(path, "wb");
    if (f == NULL) { perror(path); exit(2); }
    fprintf(f,
            "{\n  \"session_id\": \"%s\",\n  \"created_at\": \"2020-01-%02dT00:00:00.000000Z\",\n"
            "  \"updated_at\": \"2020-01-%02dT00:00:00.000000Z\",\n  \"version\": 1\n}\n",
            id, day, day);
    fclose(f);
    snprintf(path, sizeof path, "%s/blob", dir);
    f = fopen(path, "wb");
    if (f == NULL) { perror(path); exit(2); }
    for (size_t i = 0; i < blob; i++) fputc('x', f);
    fclose(f);
}

static const char *ID1 = "00000000-0000-4000-8000-000000000001";
static const char *ID2 = "00000000-0000-4000-8000-000000000002";
static const char *ID3 = "00000000-0000-4000-8000-000000000003";

/* sizeof(wsprune_prune_options) in 0.2.0, the first version (it ended
 * before `flags`): the smallest struct_size accepted. */
#define PRUNE_OPTIONS_V1 offsetof(wsprune_prune_options, flags)

static void test_options_init_and_versioning(void) {
    wsprune_prune_options o;
    memset(&o, 0xab, sizeof o);
    CHECK(wsprune_prune_options_init(NULL, sizeof o) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_prune_options_init(&o, 0) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(PRUNE_OPTIONS_V1 == 72);
    CHECK(wsprune_prune_options_init(&o, PRUNE_OPTIONS_V1 - 1) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(o.struct_size != sizeof o); /* untouched on error */
    CHECK(wsprune_prune_options_init(&o, sizeof o) == WSPRUNE_STATUS_OK);
    CHECK(o.struct_size == sizeof o);
    CHECK(o.use_older_than && o.older_than_hours == 24.0);
    CHECK(o.max_total_bytes == 0 && o.max_sessions == 0 && o.min_free_bytes == 0 && o.max_deletions == 0);
    /* Since 0.3.0 the size and count rules spare sessions used within the hour. */
    CHECK(o.min_age_hours == 1.0 && o.jobs == 0 && o.lock_timeout_ms == 30000 && !o.dry_run);

    char root[256];
    new_root(root, sizeof root);
    wsprune_error *err = NULL;
    CHECK(wsprune_prune_sessions_with_options(root, NULL, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_prune_sessions_with_options(NULL, &o, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    /* No error pointer: still a NULL result, no crash. */
    CHECK(wsprune_prune_sessions_with_options(root, NULL, NULL) == NULL);

    /* A struct_size this version cannot be: too small, zero, absurd. */
    size_t sizes[] = {0, sizeof(size_t), PRUNE_OPTIONS_V1 - 1, (size_t)1 << 40};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        wsprune_prune_options bad = o;
        bad.struct_size = sizes[i];
        CHECK(wsprune_prune_sessions_with_options(root, &bad, &err) == NULL);
        /* The message names the field as the caller spells it. */
        CHECK(err != NULL && strstr(wsprune_error_message(err), "options->struct_size is ") != NULL);
        CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    }

    /* A struct_size that ends inside a field (here half of a pointer) is no
       version's size: refused, never read as a wild pointer. */
    {
        wsprune_prune_options split = o;
        split.label_selector = "owner=alice";
        split.struct_size = offsetof(wsprune_prune_options, label_selector) + 4;
        CHECK(wsprune_prune_sessions_with_options(root, &split, &err) == NULL);
        CHECK(err != NULL && strstr(wsprune_error_message(err), "not the size of any version") != NULL);
        CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    }

    /* A newer caller's bigger struct: accepted while its unknown tail is zero. */
    struct { wsprune_prune_options v1; uint64_t future[4]; } newer;
    memset(&newer, 0xab, sizeof newer);
    CHECK(wsprune_prune_options_init(&newer.v1, sizeof newer) == WSPRUNE_STATUS_OK);
    CHECK(newer.v1.struct_size == sizeof newer);
    CHECK(newer.future[0] == 0 && newer.future[3] == 0); /* unknown fields zeroed */
    wsprune_prune_result *r = wsprune_prune_sessions_with_options(root, &newer.v1, &err);
    CHECK(r != NULL && err == NULL);
    wsprune_prune_result_free(r);
    newer.future[2] = 1;
    CHECK(wsprune_prune_sessions_with_options(root, &newer.v1, &err) == NULL);
    CHECK(err != NULL && strstr(wsprune_error_message(err), "does not know") != NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);

    /* Bad numbers. */
    double bad_hours[] = {NAN, -1.0, INFINITY, -INFINITY};
    for (size_t i = 0; i < 4; i++) {
        wsprune_prune_options b = o;
        b.older_than_hours = bad_hours[i];
        CHECK(wsprune_prune_sessions_with_options(root, &b, &err) == NULL);
        CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
        b = o;
        b.min_age_hours = bad_hours[i];
        CHECK(wsprune_prune_sessions_with_options(root, &b, &err) == NULL);
        CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    }
    /* Percentages (since 0.4.0): 0.0 after init (no rule); outside (0, 100],
     * NaN, or a low watermark above the high one is refused. */
    CHECK(o.min_free_percent == 0.0 && o.high_watermark_percent == 0.0 && o.low_watermark_percent == 0.0);
    CHECK(o.high_inode_watermark_percent == 0.0 && o.low_inode_watermark_percent == 0.0);
    double bad_percent[] = {NAN, -1.0, 100.5, INFINITY};
    for (size_t i = 0; i < 4; i++) {
        wsprune_prune_options b = o;
        b.high_watermark_percent = bad_percent[i];
        CHECK(wsprune_prune_sessions_with_options(root, &b, &err) == NULL);
        CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
        b = o;
        b.min_free_percent = bad_percent[i];
        CHECK(wsprune_prune_sessions_with_options(root, &b, &err) == NULL);
        CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    }
    wsprune_prune_options wm = o;
    wm.high_inode_watermark_percent = 80.0;
    wm.low_inode_watermark_percent = 85.0;
    CHECK(wsprune_prune_sessions_with_options(root, &wm, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    wm = o;
    wm.low_watermark_percent = 50.0; /* without a high one */
    CHECK(wsprune_prune_sessions_with_options(root, &wm, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    /* A 0.4.0-before struct (it ended at the percentages) with garbage after it: not read. */
    struct { wsprune_prune_options o; } older;
    memset(&older, 0xab, sizeof older);
    CHECK(wsprune_prune_options_init(&older.o, offsetof(wsprune_prune_options, min_free_percent)) == WSPRUNE_STATUS_OK);
    CHECK(older.o.struct_size == 80);
    older.o.use_older_than = false;
    r = wsprune_prune_sessions_with_options(root, &older.o, &err);
    CHECK(r != NULL && err == NULL);
    wsprune_prune_result_free(r);

    /* A NaN in a rule that is off is ignored; huge limits are fine. */
    wsprune_prune_options off = o;
    off.use_older_than = false;
    off.older_than_hours = NAN;
    off.max_total_bytes = UINT64_MAX;
    off.max_sessions = UINT64_MAX;
    off.jobs = UINT32_MAX;
    r = wsprune_prune_sessions_with_options(root, &off, &err);
    CHECK(r != NULL && err == NULL);
    wsprune_prune_result_free(r);
}

static void test_rules(void) {
    char root[256];
    new_root(root, sizeof root);
    old_session(root, ID1, 1, 1000); /* oldest */
    old_session(root, ID2, 2, 1000);
    old_session(root, ID3, 3, 1000);
    char fresh[64];
    CHECK(wsprune_session_create(root, NULL, fresh, sizeof fresh, NULL) == WSPRUNE_STATUS_OK);

    wsprune_prune_options o;
    wsprune_prune_options_init(&o, sizeof o);
    o.use_older_than = false;
    o.max_sessions = 2;
    o.jobs = 1;
    o.dry_run = true;
    wsprune_error *err = NULL;
    wsprune_prune_result *r = wsprune_prune_sessions_with_options(root, &o, &err);
    CHECK(r != NULL && err == NULL);
    CHECK(wsprune_prune_result_dry_run(r));
    CHECK(wsprune_prune_result_deleted_count(r) == 2);
    CHECK(exists_in(root, ID1) && exists_in(root, ID2));
    wsprune_prune_result_free(r);

    /* Real: max_sessions 2 evicts the two oldest; combined with a 1000-day age rule nothing else. */
    o.dry_run = false;
    o.jobs = 4;
    o.use_older_than = true;
    o.older_than_hours = 24.0 * 365 * 100; /* a century: the age rule selects nothing */
    r = wsprune_prune_sessions_with_options(root, &o, &err);
    CHECK(r != NULL && err == NULL);
    CHECK(wsprune_prune_result_deleted_count(r) == 2);
    CHECK(strcmp(wsprune_prune_result_deleted_id(r, 0), ID1) == 0);
    CHECK(strcmp(wsprune_prune_result_deleted_id(r, 1), ID2) == 0);
    CHECK(strcmp(wsprune_prune_result_deleted_rule(r, 0), "max_sessions") == 0);
    CHECK(strcmp(wsprune_prune_result_deleted_rule(r, 1), "max_sessions") == 0);
    CHECK(wsprune_prune_result_deleted_rule(r, 2) == NULL);
    CHECK(wsprune_prune_result_deleted_rule(NULL, 0) == NULL);
    /* Each deleted session's bytes and idle age, from the result (0.4.0). */
    uint64_t sum = 0;
    for (size_t i = 0; i < 2; i++) {
        CHECK(wsprune_prune_result_deleted_bytes(r, i) > 0);
        CHECK(wsprune_prune_result_deleted_age_hours(r, i) > 1.0);
        sum += wsprune_prune_result_deleted_bytes(r, i);
    }
    CHECK(sum == wsprune_prune_result_reclaimed_bytes(r));
    CHECK(wsprune_prune_result_deleted_bytes(r, 2) == 0 && wsprune_prune_result_deleted_bytes(NULL, 0) == 0);
    CHECK(isnan(wsprune_prune_result_deleted_age_hours(r, 2)) && isnan(wsprune_prune_result_deleted_age_hours(NULL, 0)));
    CHECK(wsprune_prune_result_interrupted_bytes(r, 0) == 0);
    char *json = wsprune_prune_result_to_json(r);
    CHECK(json != NULL && strstr(json, "\"deleted_rules\"") != NULL);
    wsprune_string_free(json);
    wsprune_prune_result_free(r);
    CHECK(!exists_in(root, ID1) && !exists_in(root, ID2) && exists_in(root, ID3) && exists_in(root, fresh));

    /* The age rule with max_deletions 0 (no limit) takes the rest that is old. */
    wsprune_prune_options_init(&o, sizeof o);
    r = wsprune_prune_sessions_with_options(root, &o, &err);
    CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 1);
    CHECK(strcmp(wsprune_prune_result_deleted_rule(r, 0), "older_than") == 0);
    wsprune_prune_result_free(r);
    CHECK(!exists_in(root, ID3) && exists_in(root, fresh));
}

static void check_unmet(wsprune_prune_result *r, const char *rule) {
    CHECK(r != NULL);
    if (r == NULL) return;
    size_t want = rule == NULL ? 0 : 1;
    CHECK(wsprune_prune_result_unmet_target_count(r) == want);
    if (rule != NULL) {
        const char *got = wsprune_prune_result_unmet_target(r, 0);
        CHECK(got != NULL && strcmp(got, rule) == 0);
        CHECK(strstr(wsprune_prune_result_summary(r), "target not reached") != NULL);
        /* Its target and the value at the end (0.4.0): here max_sessions 1 with 2 sessions. */
        CHECK(wsprune_prune_result_unmet_target_value(r, 0) == 1);
        CHECK(wsprune_prune_result_unmet_actual(r, 0) == 2);
    }
    CHECK(wsprune_prune_result_unmet_target(r, want) == NULL);
    CHECK(wsprune_prune_result_unmet_target(r, (size_t)-1) == NULL);
    CHECK(wsprune_prune_result_unmet_target_value(r, want) == 0 && wsprune_prune_result_unmet_actual(r, want) == 0);
    char *json = wsprune_prune_result_to_json(r);
    char expect[80];
    snprintf(expect, sizeof expect, "\"unmet_targets\":[%s%s%s]", rule ? "\"" : "", rule ? rule : "", rule ? "\"" : "");
    CHECK(json != NULL && strstr(json, expect) != NULL);
    wsprune_string_free(json);
}

static void test_min_age_default_and_unmet_targets(void) {
    char root[256];
    new_root(root, sizeof root);
    char a[64], b[64];
    CHECK(wsprune_session_create(root, NULL, a, sizeof a, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_session_create(root, NULL, b, sizeof b, NULL) == WSPRUNE_STATUS_OK);
    wsprune_prune_options o;
    wsprune_prune_options_init(&o, sizeof o);
    o.use_older_than = false;
    o.max_sessions = 1;
    wsprune_error *err = NULL;
    /* Both sessions were just used: the default 1 h floor keeps them, and the cap is reported unmet. */
    wsprune_prune_result *r = wsprune_prune_sessions_with_options(root, &o, &err);
    CHECK(err == NULL && r != NULL && wsprune_prune_result_deleted_count(r) == 0);
    check_unmet(r, "max_sessions");
    wsprune_prune_result_free(r);
    CHECK(exists_in(root, a) && exists_in(root, b));
    /* An explicit floor of 0: one goes (dry run first: the projection agrees), the cap is met. */
    o.min_age_hours = 0.0;
    o.dry_run = true;
    r = wsprune_prune_sessions_with_options(root, &o, &err);
    CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 1);
    check_unmet(r, NULL);
    wsprune_prune_result_free(r);
    o.dry_run = false;
    r = wsprune_prune_sessions_with_options(root, &o, &err);
    CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 1);
    check_unmet(r, NULL);
    wsprune_prune_result_free(r);
    CHECK(exists_in(root, a) != exists_in(root, b));

    /* Leases hold the count above the cap: every evictable session goes, the target stays unmet. */
    new_root(root, sizeof root);
    old_session(root, ID1, 1, 100);
    old_session(root, ID2, 2, 100);
    old_session(root, ID3, 3, 100);
    wsprune_lease *l1 = NULL, *l2 = NULL;
    CHECK(wsprune_session_acquire(root, ID1, &l1, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_session_acquire(root, ID2, &l2, NULL) == WSPRUNE_STATUS_OK);
    wsprune_prune_options_init(&o, sizeof o);
    o.use_older_than = false;
    o.max_sessions = 1;
    for (int dry = 1; dry >= 0; dry--) {
        o.dry_run = dry;
        r = wsprune_prune_sessions_with_options(root, &o, &err);
        CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 1);
        CHECK(r != NULL && strcmp(wsprune_prune_result_deleted_id(r, 0), ID3) == 0);
        check_unmet(r, "max_sessions");
        wsprune_prune_result_free(r);
    }
    CHECK(exists_in(root, ID1) && exists_in(root, ID2) && !exists_in(root, ID3));
    wsprune_lease_release(l1, false, NULL);
    wsprune_lease_release(l2, false, NULL);

    /* 0 stays "no such rule" in C (a zero cap is unset, never "delete everything"). */
    o.max_sessions = 0;
    o.dry_run = true;
    r = wsprune_prune_sessions_with_options(root, &o, &err);
    CHECK(r != NULL && err == NULL && wsprune_prune_result_deleted_count(r) == 0);
    check_unmet(r, NULL);
    wsprune_prune_result_free(r);

    CHECK(wsprune_prune_result_unmet_target_count(NULL) == 0);
    CHECK(wsprune_prune_result_unmet_target(NULL, 0) == NULL);
}

static void test_workspace_lock(void) {
    char root[256];
    new_root(root, sizeof root);
    /* A running prune holds the workspace lock: the host directory's lock file. */
    char lock[512];
    snprintf(lock, sizeof lock, "%s/.wsprune", root);
    CHECK(mkdir(lock, 0700) == 0);
    snprintf(lock, sizeof lock, "%s/.wsprune/lock", root);
    int fd = open(lock, O_RDONLY | O_CREAT, 0600);
    CHECK(fd >= 0 && flock(fd, LOCK_EX) == 0);
    wsprune_prune_options o;
    wsprune_prune_options_init(&o, sizeof o);
    o.lock_timeout_ms = 50;
    wsprune_error *err = NULL;
    CHECK(wsprune_prune_sessions_with_options(root, &o, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_BUSY);
    /* The old entry point waits for the default 30 s: not tried here. */
    close(fd);
    wsprune_prune_result *r = wsprune_prune_sessions_with_options(root, &o, &err);
    CHECK(r != NULL && err == NULL);
    wsprune_prune_result_free(r);
}

static void test_session_delete(void) {
    char root[256];
    new_root(root, sizeof root);
    old_session(root, ID1, 1, 500);
    wsprune_error *err = NULL;
    uint64_t bytes = 0;

    CHECK(wsprune_session_delete(NULL, ID1, 0, &bytes, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_delete(root, NULL, 0, &bytes, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_delete(root, "../..", 0, &bytes, &err) == WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK(wsprune_session_delete(root, "\xff\xfe", 0, &bytes, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_delete(root, ID2, 0, &bytes, &err) == WSPRUNE_STATUS_NOT_FOUND);
    CHECK_ERR(err, WSPRUNE_STATUS_NOT_FOUND);

    wsprune_lease *lease = NULL;
    CHECK(wsprune_session_acquire(root, ID1, &lease, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_session_delete(root, ID1, 20, &bytes, &err) == WSPRUNE_STATUS_BUSY);
    CHECK_ERR(err, WSPRUNE_STATUS_BUSY);
    CHECK(exists_in(root, ID1));
    CHECK(wsprune_lease_release(lease, false, NULL) == WSPRUNE_STATUS_OK);

    char dir[512];
    snprintf(dir, sizeof dir, "%s/%s", root, ID1);
    long long expected = du_bytes(dir);
    CHECK(expected > 500);
    CHECK(wsprune_session_delete(root, ID1, 0, &bytes, &err) == WSPRUNE_STATUS_OK && err == NULL);
    CHECK((long long)bytes == expected);
    CHECK(!exists_in(root, ID1));
    /* out_reclaimed_bytes and error may be NULL. */
    old_session(root, ID2, 2, 1);
    CHECK(wsprune_session_delete(root, ID2, 0, NULL, NULL) == WSPRUNE_STATUS_OK);
    CHECK(!exists_in(root, ID2));
}

static void test_session_info(void) {
    char root[256];
    new_root(root, sizeof root);
    old_session(root, ID1, 5, 300);
    wsprune_error *err = NULL;
    wsprune_session_details info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;

    CHECK(wsprune_session_info(root, ID1, NULL, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_info(NULL, ID1, &info, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_info(root, NULL, &info, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    wsprune_session_details small = info;
    small.struct_size = 8;
    CHECK(wsprune_session_info(root, ID1, &small, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(err != NULL && strncmp(wsprune_error_message(err), "out->struct_size is 8;", 22) == 0);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    /* A newer caller's bigger struct: our fields filled, the rest zeroed. */
    struct { wsprune_session_details v1; uint64_t future[2]; } big;
    memset(&big, 0xab, sizeof big);
    big.v1.struct_size = sizeof big;
    CHECK(wsprune_session_info(root, ID1, &big.v1, NULL) == WSPRUNE_STATUS_OK);
    CHECK(big.v1.struct_size == sizeof big && big.v1.state == WSPRUNE_SESSION_STATE_OK);
    CHECK(big.future[0] == 0 && big.future[1] == 0);
    CHECK(wsprune_session_info(root, ID3, &info, &err) == WSPRUNE_STATUS_NOT_FOUND);
    CHECK_ERR(err, WSPRUNE_STATUS_NOT_FOUND);
    /* A custom id that names nothing is not found; a name that is no id is invalid. */
    CHECK(wsprune_session_info(root, "nope", &info, &err) == WSPRUNE_STATUS_NOT_FOUND);
    CHECK_ERR(err, WSPRUNE_STATUS_NOT_FOUND);
    CHECK(wsprune_session_info(root, "../nope", &info, &err) == WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_SESSION_ID);

    CHECK(wsprune_session_info(root, ID1, &info, &err) == WSPRUNE_STATUS_OK && err == NULL);
    CHECK(info.struct_size == sizeof info);
    CHECK(info.state == WSPRUNE_SESSION_STATE_OK);
    CHECK(info.updated_at_us == 1578182400LL * 1000000); /* 2020-01-05T00:00:00Z */
    CHECK(info.created_at_us == info.updated_at_us);
    CHECK(info.size_bytes > 300 && !info.in_use);

    wsprune_lease *lease = NULL;
    CHECK(wsprune_session_acquire(root, ID1, &lease, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_session_info(root, ID1, &info, NULL) == WSPRUNE_STATUS_OK && info.in_use);
    wsprune_lease_release(lease, false, NULL);

    char legacy[512];
    snprintf(legacy, sizeof legacy, "%s/%s", root, ID2);
    mkdir(legacy, 0755);
    CHECK(wsprune_session_info(root, ID2, &info, NULL) == WSPRUNE_STATUS_OK);
    /* An empty directory: its own blocks (none on tmpfs, one on ext4). */
    CHECK(info.state == WSPRUNE_SESSION_STATE_LEGACY && info.updated_at_us == 0 &&
          (long long)info.size_bytes == du_bytes(legacy));
}

static void test_repair(void) {
    char root[256], dir[512];
    new_root(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/%s", root, ID1);
    mkdir(dir, 0755);
    old_session(root, ID2, 3, 10);
    wsprune_error *err = NULL;
    size_t n = 99;
    char *json = NULL;

    CHECK(wsprune_repair_sessions(NULL, false, &n, &json, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(json == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing", root);
    CHECK(wsprune_repair_sessions(missing, false, &n, &json, &err) == WSPRUNE_STATUS_NOT_FOUND);
    CHECK_ERR(err, WSPRUNE_STATUS_NOT_FOUND);

    CHECK(wsprune_repair_sessions(root, true, &n, &json, &err) == WSPRUNE_STATUS_OK && err == NULL);
    CHECK(n == 1 && json != NULL && strstr(json, ID1) != NULL && strstr(json, "\"dry_run\":true") != NULL);
    wsprune_string_free(json);
    json = NULL;
    wsprune_session_details info;
    info.struct_size = sizeof info;
    CHECK(wsprune_session_info(root, ID1, &info, NULL) == WSPRUNE_STATUS_OK);
    CHECK(info.state == WSPRUNE_SESSION_STATE_LEGACY);

    CHECK(wsprune_repair_sessions(root, false, &n, NULL, NULL) == WSPRUNE_STATUS_OK && n == 1);
    CHECK(wsprune_session_info(root, ID1, &info, NULL) == WSPRUNE_STATUS_OK);
    CHECK(info.state == WSPRUNE_SESSION_STATE_OK && info.updated_at_us > 0);
    CHECK(wsprune_repair_sessions(root, false, &n, &json, NULL) == WSPRUNE_STATUS_OK && n == 0);
    CHECK(json != NULL && strstr(json, "\"repaired\":[]") != NULL);
    wsprune_string_free(json);
}

/* Pins, per-session TTLs and the look-ahead through the C ABI: the new
 * calls' argument checks, the appended struct fields' defaults, a pinned
 * session kept by a prune (reason "pinned") and refused by a delete without
 * WSPRUNE_FLAG_FORCE, an expired TTL deleted with rule "ttl", and as_of_us
 * refused outside a dry run. */
static void test_pins_and_ttls(void) {
    char root[256];
    new_root(root, sizeof root);
    wsprune_error *err = NULL;
    wsprune_session_options so;
    memset(&so, 0xab, sizeof so);
    CHECK(wsprune_session_options_init(&so, sizeof so) == WSPRUNE_STATUS_OK);
    CHECK(so.idle_ttl_seconds == 0 && so.expires_at_us == 0);
    wsprune_prune_options po;
    memset(&po, 0xab, sizeof po);
    CHECK(wsprune_prune_options_init(&po, sizeof po) == WSPRUNE_STATUS_OK);
    CHECK(po.as_of_us == 0);

    CHECK(wsprune_session_pin(NULL, "p", 0, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_unpin(root, NULL, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_set_ttl(root, "../x", 60, 0, &err) == WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK(wsprune_session_pin(root, "missing", 0, &err) == WSPRUNE_STATUS_NOT_FOUND);
    CHECK_ERR(err, WSPRUNE_STATUS_NOT_FOUND);

    /* "p" pinned until unpinned; "t" expiring: 1 s idle TTL, and an expiry already passed. */
    CHECK(wsprune_session_create(root, "p", NULL, 0, NULL) == WSPRUNE_STATUS_OK);
    so.idle_ttl_seconds = 1;
    so.expires_at_us = 1000000; /* 1970-01-01T00:00:01Z */
    CHECK(wsprune_session_create_with_options(root, "t", &so, NULL, 0, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_session_pin(root, "p", 1000000, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT); /* passed */
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_pin(root, "p", 0, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_session_set_ttl(root, "p", 1, 1000000, NULL) == WSPRUNE_STATUS_OK);

    po.use_older_than = false;
    po.as_of_us = 4102444800000000LL; /* 2100-01-01: a look-ahead needs a dry run */
    CHECK(wsprune_prune_sessions_with_options(root, &po, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    po.as_of_us = 0;
    po.flags = WSPRUNE_FLAG_FORCE; /* no prune deletes a pin */
    CHECK(wsprune_prune_sessions_with_options(root, &po, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    po.flags = 0;
    wsprune_prune_result *r = wsprune_prune_sessions_with_options(root, &po, &err);
    CHECK(r != NULL);
    CHECK(wsprune_prune_result_deleted_count(r) == 1);
    CHECK(strcmp(wsprune_prune_result_deleted_id(r, 0), "t") == 0);
    CHECK(strcmp(wsprune_prune_result_deleted_rule(r, 0), "ttl") == 0);
    CHECK(wsprune_prune_result_skipped_count(r) == 1);
    CHECK(strcmp(wsprune_prune_result_skipped_reason(r, 0), "pinned") == 0);
    wsprune_prune_result_free(r);

    uint64_t bytes = 0;
    CHECK(wsprune_session_delete(root, "p", 0, &bytes, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(exists_in(root, "p"));
    CHECK(wsprune_session_delete_with_flags(root, "p", 0, WSPRUNE_FLAG_FORCE, &bytes, NULL) == WSPRUNE_STATUS_OK);
    CHECK(!exists_in(root, "p") && bytes > 0);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/wsprune-ctest-policy-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(base) == NULL) { perror("mkdtemp"); return 2; }
    test_options_init_and_versioning();
    test_rules();
    test_min_age_default_and_unmet_targets();
    test_workspace_lock();
    test_session_delete();
    test_session_info();
    test_repair();
    test_pins_and_ttls();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", base);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
