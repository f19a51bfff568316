/*
 * C ABI tests for wsprune, compiled with -std=c99 -Wall -Wextra -Werror
 * -pedantic against include/wsprune.h and run (also under valgrind) by
 * tests/c/run.sh. Prints "N passed, N failed" last; exits 1 on any failure.
 */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <ctype.h>
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

/* A fresh workspace root path (not created) under the test's temp dir. */
static void new_root(char *out, size_t n) {
    snprintf(out, n, "%s/ws%d", base, counter++);
}

static void join(char *out, size_t n, const char *a, const char *b) {
    snprintf(out, n, "%s/%s", a, b);
}

static int exists(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0;
}

static char *read_all(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) return NULL;
    char *buf = calloc(1, 65536);
    size_t n = fread(buf, 1, 65535, f);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void write_all(const char *path, const char *text) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) { perror(path); exit(2); }
    fputs(text, f);
    fclose(f);
}

static void write_size(const char *path, size_t size) {
    FILE *f = fopen(path, "wb");
    if (f == NULL) { perror(path); exit(2); }
    for (size_t i = 0; i < size; i++) fputc((int)(i % 251), f);
    fclose(f);
}

static long long file_size(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* The JSON string value of `key` in `json`, copied into out ("" if absent). */
static void json_str(const char *json, const char *key, char *out, size_t n) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(json, pat);
    out[0] = 0;
    if (p == NULL) return;
    p += strlen(pat);
    size_t i = 0;
    while (p[i] && p[i] != '"' && i + 1 < n) { out[i] = p[i]; i++; }
    out[i] = 0;
}

/* Sets a session's times as the host's own touches would have: its record
 * (.wsprune/sessions/ID, what every call decides on) when it is registered,
 * and its .metadata.json (the mirror, or the metadata of a directory that is
 * not registered). */
static void backdate(const char *root, const char *id, const char *when) {
    char p[512], text[512];
    snprintf(text, sizeof text,
             "{\n  \"session_id\": \"%s\",\n  \"created_at\": \"%s\",\n  \"updated_at\": \"%s\",\n  \"version\": 1\n}\n",
             id, when, when);
    snprintf(p, sizeof p, "%s/.wsprune/sessions/%s", root, id);
    if (exists(p)) write_all(p, text);
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, id);
    write_all(p, text);
}

/* A session directory as the reference implementation makes one: not
 * registered, so judged by its own .metadata.json. */
static void unregistered(const char *root, char id[37], int n) {
    char p[512];
    snprintf(id, 37, "%08x-1111-4222-8333-444455556666", n);
    join(p, sizeof p, root, id);
    CHECK(mkdir(p, 0700) == 0);
}

static void create_ok(const char *root, char id[37]) {
    wsprune_error *err = NULL;
    wsprune_status st = wsprune_session_create(root, NULL, id, 37, &err);
    CHECK(st == WSPRUNE_STATUS_OK);
    CHECK(err == NULL);
    if (err) wsprune_error_free(err);
}

/* Checks an expected failure: status, error object consistent, message non-empty. */
static void expect_error(wsprune_status got, wsprune_error *err, wsprune_status want) {
    CHECK(got == want);
    CHECK(err != NULL);
    if (err != NULL) {
        CHECK(wsprune_error_status(err) == want);
        const char *msg = wsprune_error_message(err);
        CHECK(msg != NULL && msg[0] != 0);
        wsprune_error_free(err);
    }
}

/* Runs `call` (which stores into `err`) before looking at `err`: argument
 * evaluation order is unspecified in C. */
#define EXPECT_ERROR(call, want)                 \
    do {                                         \
        wsprune_status got_ = (call);            \
        expect_error(got_, err, (want));         \
    } while (0)

static int has_id(const wsprune_prune_result *r, const char *id, size_t (*count)(const wsprune_prune_result *),
                  const char *(*get)(const wsprune_prune_result *, size_t)) {
    for (size_t i = 0; i < count(r); i++)
        if (strcmp(get(r, i), id) == 0) return 1;
    return 0;
}

static const char *reason_of(const wsprune_prune_result *r, const char *id) {
    for (size_t i = 0; i < wsprune_prune_result_skipped_count(r); i++)
        if (strcmp(wsprune_prune_result_skipped_id(r, i), id) == 0) return wsprune_prune_result_skipped_reason(r, i);
    return "";
}

/* ---- events ---- */
#define MAX_EVENTS 256
struct recorder {
    pthread_mutex_t mu;
    int n;
    void *seen_user_data;
    char names[MAX_EVENTS][48];
    char fields[MAX_EVENTS][512];
    wsprune_level levels[MAX_EVENTS];
};

static void record(void *user_data, wsprune_level level, const char *event, const char *fields_json) {
    struct recorder *r = user_data;
    pthread_mutex_lock(&r->mu);
    r->seen_user_data = user_data;
    if (r->n < MAX_EVENTS) {
        snprintf(r->names[r->n], sizeof r->names[0], "%s", event);
        snprintf(r->fields[r->n], sizeof r->fields[0], "%s", fields_json);
        r->levels[r->n] = level;
        r->n++;
    }
    pthread_mutex_unlock(&r->mu);
}

/* Index of the first event `name` whose fields contain `needle` (or -1). */
static int find_event(struct recorder *r, const char *name, const char *needle) {
    for (int i = 0; i < r->n; i++)
        if (strcmp(r->names[i], name) == 0 && (needle == NULL || strstr(r->fields[i], needle) != NULL)) return i;
    return -1;
}

static void test_names_and_version(void) {
    CHECK(strlen(wsprune_version()) > 0);
    CHECK(strcmp(wsprune_status_name(WSPRUNE_STATUS_OK), "WSPRUNE_STATUS_OK") == 0);
    CHECK(strcmp(wsprune_status_name(WSPRUNE_STATUS_INVALID_ARGUMENT), "WSPRUNE_STATUS_INVALID_ARGUMENT") == 0);
    CHECK(strcmp(wsprune_status_name(WSPRUNE_STATUS_INVALID_SESSION_ID), "WSPRUNE_STATUS_INVALID_SESSION_ID") == 0);
    CHECK(strcmp(wsprune_status_name(WSPRUNE_STATUS_NOT_FOUND), "WSPRUNE_STATUS_NOT_FOUND") == 0);
    CHECK(strcmp(wsprune_status_name(WSPRUNE_STATUS_ALREADY_EXISTS), "WSPRUNE_STATUS_ALREADY_EXISTS") == 0);
    CHECK(strcmp(wsprune_status_name(WSPRUNE_STATUS_BUSY), "WSPRUNE_STATUS_BUSY") == 0);
    CHECK(strcmp(wsprune_status_name(WSPRUNE_STATUS_IO), "WSPRUNE_STATUS_IO") == 0);
    CHECK(strcmp(wsprune_status_name(WSPRUNE_STATUS_PANIC), "WSPRUNE_STATUS_PANIC") == 0);
    CHECK(strcmp(wsprune_status_name((wsprune_status)99), "WSPRUNE_STATUS_UNKNOWN") == 0);
    /* Source written for the old prototype (a wsprune_status argument) still compiles and is answered. */
    wsprune_status held = WSPRUNE_STATUS_BUSY;
    CHECK(strcmp(wsprune_status_name(held), "WSPRUNE_STATUS_BUSY") == 0);
    CHECK(WSPRUNE_STATUS_OK == 0 && WSPRUNE_STATUS_INVALID_ARGUMENT == 1 && WSPRUNE_STATUS_INVALID_SESSION_ID == 2 &&
          WSPRUNE_STATUS_NOT_FOUND == 3 && WSPRUNE_STATUS_ALREADY_EXISTS == 4 && WSPRUNE_STATUS_BUSY == 5 &&
          WSPRUNE_STATUS_IO == 6 && WSPRUNE_STATUS_PANIC == 7);
}

static void test_create(void) {
    char root[256], id[37], p[512];
    new_root(root, sizeof root);
    /* NULL id: new UUID, root created, metadata 0600 with created_at == updated_at. */
    create_ok(root, id);
    CHECK(strlen(id) == 36 && id[8] == '-' && id[14] == '4');
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, id);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    char *json = read_all(p);
    CHECK(json != NULL);
    if (json) {
        char sid[64], created[64], updated[64];
        json_str(json, "session_id", sid, sizeof sid);
        json_str(json, "created_at", created, sizeof created);
        json_str(json, "updated_at", updated, sizeof updated);
        CHECK(strcmp(sid, id) == 0);
        CHECK(strlen(created) == 27 && created[26] == 'Z');
        CHECK(strcmp(created, updated) == 0);
        CHECK(strstr(json, "\"version\": 1") != NULL);
        free(json);
    }
    /* Given id; duplicate. */
    const char *given = "0f8fad5b-d9cb-469f-a165-70867728950e";
    char out[37];
    wsprune_error *err = (wsprune_error *)&err; /* garbage: must become NULL */
    CHECK(wsprune_session_create(root, given, out, sizeof out, &err) == WSPRUNE_STATUS_OK);
    CHECK(err == NULL);
    CHECK(strcmp(out, given) == 0);
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(root, given, NULL, 0, &err), WSPRUNE_STATUS_ALREADY_EXISTS);
    /* out_id NULL is allowed; error pointer NULL is allowed. */
    CHECK(wsprune_session_create(root, NULL, NULL, 0, NULL) == WSPRUNE_STATUS_OK);
    /* Invalid ids, traversal: nothing created. */
    const char *bad[] = {"../etc", "", ".hidden", "a/b", "0f8fad5b-d9cb-469f-a165-70867728950e/..", "..",
                         "/tmp/0f8fad5b-d9cb-469f-a165-70867728950e"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        EXPECT_ERROR(wsprune_session_create(root, bad[i], NULL, 0, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
    }
    snprintf(p, sizeof p, "%s/etc", base);
    CHECK(!exists(p));
    /* Buffer too small: INVALID_ARGUMENT and nothing created. */
    char root2[256], small[36];
    new_root(root2, sizeof root2);
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(root2, NULL, small, sizeof small, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(!exists(root2));
    /* NULL and non-UTF-8 root, empty root. */
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(NULL, NULL, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_create("\xff\xfe", NULL, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_create("", NULL, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(root, "\xff\xfe", NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    /* A root under a regular file cannot be created: IO. */
    snprintf(p, sizeof p, "%s/plainfile", base);
    write_all(p, "x");
    snprintf(root2, sizeof root2, "%s/plainfile/ws", base);
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(root2, NULL, NULL, 0, &err), WSPRUNE_STATUS_IO);
}

static void test_touch(void) {
    char root[256], id[37], p[512];
    new_root(root, sizeof root);
    create_ok(root, id);
    backdate(root, id, "2020-01-01T00:00:00.000000Z");
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, id);
    wsprune_error *err = (wsprune_error *)&err;
    CHECK(wsprune_session_touch(root, id, &err) == WSPRUNE_STATUS_OK);
    CHECK(err == NULL);
    char *json = read_all(p);
    char created[64] = "", updated[64] = "";
    if (json) {
        json_str(json, "created_at", created, sizeof created);
        json_str(json, "updated_at", updated, sizeof updated);
        free(json);
    }
    CHECK(strcmp(created, "2020-01-01T00:00:00.000000Z") == 0);
    CHECK(strcmp(updated, "2020-01-01T00:00:00.000000Z") > 0 && strlen(updated) == 27);

    /* Legacy session: OK, no metadata created. */
    const char *legacy = "11111111-2222-4333-8444-555555555555";
    join(p, sizeof p, root, legacy);
    mkdir(p, 0755);
    CHECK(wsprune_session_touch(root, legacy, NULL) == WSPRUNE_STATUS_OK);
    /* What the touch did, from the call itself (0.4.0). */
    int32_t outcome = -1;
    CHECK(wsprune_session_touch_outcome(root, legacy, &outcome, NULL) == WSPRUNE_STATUS_OK);
    CHECK(outcome == WSPRUNE_TOUCH_LEGACY);
    CHECK(wsprune_session_touch_outcome(root, id, &outcome, NULL) == WSPRUNE_STATUS_OK);
    CHECK(outcome == WSPRUNE_TOUCH_UPDATED);
    CHECK(wsprune_session_touch_outcome(root, id, NULL, NULL) == WSPRUNE_STATUS_OK);
    outcome = 42;
    CHECK(wsprune_session_touch_outcome(root, "99999999-2222-4333-8444-555555555555", &outcome, NULL) ==
          WSPRUNE_STATUS_NOT_FOUND);
    CHECK(outcome == 42); /* left as it was on an error */
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, legacy);
    CHECK(!exists(p));

    /* Corrupted metadata: OK, unchanged, warning event. */
    struct recorder *rec = calloc(1, sizeof *rec);
    pthread_mutex_init(&rec->mu, NULL);
    wsprune_set_log_callback(record, rec);
    char bad_id[37];
    unregistered(root, bad_id, 0xbad);
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, bad_id);
    write_all(p, "{not json");
    CHECK(wsprune_session_touch(root, bad_id, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_session_touch_outcome(root, bad_id, &outcome, NULL) == WSPRUNE_STATUS_OK);
    CHECK(outcome == WSPRUNE_TOUCH_CORRUPTED);
    json = read_all(p);
    CHECK(json != NULL && strcmp(json, "{not json") == 0);
    free(json);
    wsprune_set_log_callback(NULL, NULL);
    int i = find_event(rec, "session.metadata.corrupted", bad_id);
    CHECK(i >= 0);
    if (i >= 0) CHECK(rec->levels[i] == WSPRUNE_LEVEL_WARNING);
    pthread_mutex_destroy(&rec->mu);
    free(rec);

    /* Missing session, missing root, bad arguments. */
    err = NULL;
    EXPECT_ERROR(wsprune_session_touch(root, "99999999-2222-4333-8444-555555555555", &err), WSPRUNE_STATUS_NOT_FOUND);
    err = NULL;
    char missing_root[256];
    new_root(missing_root, sizeof missing_root);
    EXPECT_ERROR(wsprune_session_touch(missing_root, id, &err), WSPRUNE_STATUS_NOT_FOUND);
    err = NULL;
    EXPECT_ERROR(wsprune_session_touch(root, "../x", &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
    err = NULL;
    EXPECT_ERROR(wsprune_session_touch(NULL, id, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_touch(root, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_touch(root, "\xc3\x28", &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_touch(NULL, NULL, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
}

static void test_prune(void) {
    char root[256], p[512], old_id[37], fresh_id[37], corrupt_id[37], badts_id[37], leased_id[37];
    const char *legacy = "22222222-2222-4333-8444-555555555555";
    new_root(root, sizeof root);
    create_ok(root, old_id);
    create_ok(root, fresh_id);
    unregistered(root, corrupt_id, 0xc0);
    unregistered(root, badts_id, 0xc1);
    create_ok(root, leased_id);
    backdate(root, old_id, "2020-01-01T00:00:00.000000Z");
    backdate(root, leased_id, "2020-01-01T00:00:00.000000Z");
    join(p, sizeof p, root, legacy);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, corrupt_id);
    write_all(p, "{\"session_id\": ");
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, badts_id);
    write_all(p, "{\"session_id\": \"x\", \"created_at\": \"soon\", \"updated_at\": \"later\", \"version\": 1}");
    /* Files in the old session, and a symlink to a canary outside the root. */
    char canary[256], canary_file[512];
    snprintf(canary, sizeof canary, "%s/canary%d", base, counter++);
    mkdir(canary, 0755);
    join(canary_file, sizeof canary_file, canary, "keep.txt");
    write_size(canary_file, 5000);
    snprintf(p, sizeof p, "%s/%s/sub", root, old_id);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/sub/data.bin", root, old_id);
    write_size(p, 12345);
    snprintf(p, sizeof p, "%s/%s/sub/link", root, old_id);
    CHECK(symlink(canary, p) == 0);
    join(p, sizeof p, root, old_id);
    long long expected = du_bytes(p);
    CHECK(expected > 12345);
    /* A UUID-named symlink in the root pointing to a stale-looking directory outside. */
    char outside[256];
    snprintf(outside, sizeof outside, "%s/outside%d", base, counter++);
    mkdir(outside, 0755);
    join(p, sizeof p, outside, ".metadata.json");
    write_all(p, "{\"session_id\": \"x\", \"created_at\": \"2020-01-01T00:00:00Z\", \"updated_at\": \"2020-01-01T00:00:00Z\"}");
    join(p, sizeof p, root, "33333333-2222-4333-8444-555555555555");
    CHECK(symlink(outside, p) == 0);

    wsprune_lease *lease = NULL;
    wsprune_error *err = NULL;
    CHECK(wsprune_session_acquire(root, leased_id, &lease, &err) == WSPRUNE_STATUS_OK);
    CHECK(lease != NULL && err == NULL);

    /* Dry run: reports, deletes nothing. */
    err = (wsprune_error *)&err;
    wsprune_prune_result *dry = wsprune_prune_sessions(root, 24.0, true, &err);
    CHECK(dry != NULL && err == NULL);
    if (dry == NULL) return;
    CHECK(wsprune_prune_result_dry_run(dry));
    CHECK(wsprune_prune_result_deleted_count(dry) == 1);
    CHECK(has_id(dry, old_id, wsprune_prune_result_deleted_count, wsprune_prune_result_deleted_id));
    CHECK((long long)wsprune_prune_result_reclaimed_bytes(dry) == expected);
    CHECK(strncmp(wsprune_prune_result_summary(dry), "Would prune", 11) == 0);
    join(p, sizeof p, root, old_id);
    CHECK(exists(p));

    /* Real prune. */
    wsprune_prune_result *r = wsprune_prune_sessions(root, 24.0, false, &err);
    CHECK(r != NULL && err == NULL);
    if (r == NULL) { wsprune_prune_result_free(dry); return; }
    CHECK(!wsprune_prune_result_dry_run(r));
    CHECK(wsprune_prune_result_deleted_count(r) == 1);
    CHECK(strcmp(wsprune_prune_result_deleted_id(r, 0), old_id) == 0);
    CHECK(wsprune_prune_result_reclaimed_bytes(r) == wsprune_prune_result_reclaimed_bytes(dry));
    CHECK(strncmp(wsprune_prune_result_summary(r), "Pruned 1 session", 16) == 0);
    CHECK(!exists(p));
    CHECK(exists(canary_file) && file_size(canary_file) == 5000);
    join(p, sizeof p, outside, ".metadata.json");
    CHECK(exists(p));
    join(p, sizeof p, root, fresh_id);
    CHECK(exists(p));
    CHECK(wsprune_prune_result_skipped_count(r) == 4);
    CHECK(strcmp(reason_of(r, legacy), "missing_metadata") == 0);
    CHECK(strcmp(reason_of(r, corrupt_id), "corrupted_metadata") == 0);
    CHECK(strcmp(reason_of(r, badts_id), "corrupted_timestamp") == 0);
    CHECK(strcmp(reason_of(r, leased_id), "in_use") == 0);
    CHECK(wsprune_prune_result_skipped_count(dry) == wsprune_prune_result_skipped_count(r));
    CHECK(wsprune_prune_result_error_count(r) == 0);
    CHECK(wsprune_prune_result_deleted_id(r, 1) == NULL);
    CHECK(wsprune_prune_result_skipped_id(r, 4) == NULL);
    CHECK(wsprune_prune_result_skipped_reason(r, 99) == NULL);
    CHECK(wsprune_prune_result_error_id(r, 0) == NULL);
    CHECK(wsprune_prune_result_error_message(r, 0) == NULL);
    char *json = wsprune_prune_result_to_json(r);
    CHECK(json != NULL);
    if (json) {
        const char *keys[] = {"\"deleted_sessions\"", "\"skipped_sessions\"", "\"skipped_reasons\"",
                              "\"reclaimed_bytes\"", "\"errors\"", "\"dry_run\":false"};
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) CHECK(strstr(json, keys[i]) != NULL);
        CHECK(strstr(json, old_id) != NULL);
        wsprune_string_free(json);
    }
    wsprune_prune_result_free(dry);
    wsprune_prune_result_free(r);

    /* Release with touch: the leased session is fresh and survives a prune. */
    CHECK(wsprune_lease_release(lease, true, &err) == WSPRUNE_STATUS_OK);
    r = wsprune_prune_sessions(root, 24.0, false, NULL);
    CHECK(r != NULL && !has_id(r, leased_id, wsprune_prune_result_deleted_count, wsprune_prune_result_deleted_id));
    wsprune_prune_result_free(r);
    /* Release without touch: a stale session goes after release. */
    backdate(root, leased_id, "2020-01-01T00:00:00.000000Z");
    lease = NULL;
    CHECK(wsprune_session_acquire(root, leased_id, &lease, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_lease_release(lease, false, NULL) == WSPRUNE_STATUS_OK);
    r = wsprune_prune_sessions(root, 24.0, false, NULL);
    CHECK(r != NULL && has_id(r, leased_id, wsprune_prune_result_deleted_count, wsprune_prune_result_deleted_id));
    wsprune_prune_result_free(r);

    /* Threshold 0 deletes everything with metadata that is not in the future. */
    r = wsprune_prune_sessions(root, 0.0, false, NULL);
    CHECK(r != NULL && has_id(r, fresh_id, wsprune_prune_result_deleted_count, wsprune_prune_result_deleted_id));
    wsprune_prune_result_free(r);

    /* Bad thresholds, bad roots, missing root. */
    double bad[] = {NAN, -1.0, INFINITY, -INFINITY};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err = NULL;
        CHECK(wsprune_prune_sessions(root, bad[i], false, &err) == NULL);
        expect_error(err != NULL ? wsprune_error_status(err) : WSPRUNE_STATUS_OK, err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    }
    err = NULL;
    CHECK(wsprune_prune_sessions(NULL, 1.0, false, &err) == NULL);
    expect_error(err != NULL ? wsprune_error_status(err) : WSPRUNE_STATUS_OK, err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_prune_sessions("\xff", 1.0, false, NULL) == NULL);
    char missing[256];
    new_root(missing, sizeof missing);
    r = wsprune_prune_sessions(missing, 1.0, false, &err);
    CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 0 && wsprune_prune_result_skipped_count(r) == 0);
    CHECK(!exists(missing));
    wsprune_prune_result_free(r);
}

static void test_leases(void) {
    char root[256], id[37], p[512];
    new_root(root, sizeof root);
    create_ok(root, id);
    wsprune_lease *a = NULL, *b = NULL;
    CHECK(wsprune_session_acquire(root, id, &a, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_session_acquire(root, id, &b, NULL) == WSPRUNE_STATUS_OK); /* shared */
    /* Another open file description cannot take an exclusive lock while leased. */
    join(p, sizeof p, root, id);
    int fd = open(p, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK);
    CHECK(wsprune_lease_release(a, false, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_lease_release(b, false, NULL) == WSPRUNE_STATUS_OK);
    CHECK(flock(fd, LOCK_EX | LOCK_NB) == 0);
    close(fd);

    wsprune_error *err = NULL;
    wsprune_lease *l = (wsprune_lease *)&err; /* garbage: must become NULL */
    EXPECT_ERROR(wsprune_session_acquire(root, "44444444-2222-4333-8444-555555555555", &l, &err), WSPRUNE_STATUS_NOT_FOUND);
    CHECK(l == NULL);
    err = NULL;
    EXPECT_ERROR(wsprune_session_acquire(root, id, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_acquire(NULL, id, &l, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_acquire(root, NULL, &l, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_acquire(root, "../..", &l, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
    err = NULL;
    EXPECT_ERROR(wsprune_lease_release(NULL, true, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
}

static void test_null_safety(void) {
    wsprune_error_free(NULL);
    wsprune_string_free(NULL);
    wsprune_prune_result_free(NULL);
    CHECK(wsprune_error_status(NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_error_message(NULL) == NULL);
    CHECK(wsprune_prune_result_deleted_count(NULL) == 0);
    CHECK(wsprune_prune_result_deleted_id(NULL, 0) == NULL);
    CHECK(wsprune_prune_result_skipped_count(NULL) == 0);
    CHECK(wsprune_prune_result_skipped_id(NULL, 0) == NULL);
    CHECK(wsprune_prune_result_skipped_reason(NULL, 0) == NULL);
    CHECK(wsprune_prune_result_error_count(NULL) == 0);
    CHECK(wsprune_prune_result_error_id(NULL, 0) == NULL);
    CHECK(wsprune_prune_result_error_message(NULL, 0) == NULL);
    CHECK(wsprune_prune_result_reclaimed_bytes(NULL) == 0);
    CHECK(!wsprune_prune_result_dry_run(NULL));
    CHECK(wsprune_prune_result_summary(NULL) == NULL);
    CHECK(wsprune_prune_result_to_json(NULL) == NULL);
}

/* ---- misuse: every pointer argument NULL, bad UTF-8,
 * small buffers, odd thresholds. Each call gives the documented status and,
 * through `error`, a message naming what was wrong; none crashes (this file
 * also runs under ASan+UBSan and valgrind). */

/* Like expect_error, and the message contains one of the two words (the
 * argument's name, spelled as in the header or as prose). */
static void expect_error_naming(wsprune_status got, wsprune_error *err, wsprune_status want, const char *word,
                                const char *alt) {
    CHECK(got == want);
    CHECK(err != NULL);
    if (err == NULL) return;
    CHECK(wsprune_error_status(err) == want);
    const char *msg = wsprune_error_message(err);
    CHECK(msg != NULL && msg[0] != 0);
    if (msg != NULL && strstr(msg, word) == NULL && strstr(msg, alt) == NULL) {
        failed++;
        fprintf(stderr, "FAIL %s:%d: message \"%s\" names neither \"%s\" nor \"%s\"\n", __FILE__, __LINE__, msg, word,
                alt);
    }
    wsprune_error_free(err);
}

#define EXPECT_ERROR_NAMING(call, want, word, alt)          \
    do {                                                    \
        wsprune_status got_ = (call);                       \
        expect_error_naming(got_, err, (want), word, alt);  \
    } while (0)

/* Strings that are not UTF-8: a stray continuation byte, an overlong '/'
 * (a classic traversal trick), a UTF-16 surrogate, a truncated sequence,
 * a 5-byte form, and a valid UUID with one bad byte appended. */
static const char *const bad_utf8[] = {
    "\xff\xfe",
    "..\xc0\xaf..\xc0\xaf" "etc",
    "\xed\xa0\x80",
    "abc\xe2\x82",
    "\xf8\x88\x80\x80\x80",
    "0f8fad5b-d9cb-469f-a165-70867728950e\x80",
};
#define N_BAD_UTF8 (sizeof bad_utf8 / sizeof bad_utf8[0])

static int misuse_events;
static void count_event(void *user_data, wsprune_level level, const char *event, const char *fields_json) {
    (void)level;
    if (user_data == NULL && event != NULL && fields_json != NULL) __atomic_fetch_add(&misuse_events, 1, __ATOMIC_SEQ_CST);
}

static void test_misuse_strings(void) {
    char root[256], id[37];
    new_root(root, sizeof root);
    create_ok(root, id);
    wsprune_error *err = NULL;
    wsprune_lease *lease = NULL;
    const char *const ROOT_W = "workspace_root", *const ROOT_ALT = "workspace root";
    const char *const ID_W = "session_id", *const ID_ALT = "session id";

    /* NULL root, for every function taking one (with and without an error pointer). */
    err = NULL;
    EXPECT_ERROR_NAMING(wsprune_session_create(NULL, id, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ROOT_W,
                        ROOT_ALT);
    err = NULL;
    EXPECT_ERROR_NAMING(wsprune_session_touch(NULL, id, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ROOT_W, ROOT_ALT);
    err = NULL;
    EXPECT_ERROR_NAMING(wsprune_session_acquire(NULL, id, &lease, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ROOT_W,
                        ROOT_ALT);
    CHECK(lease == NULL);
    err = NULL;
    CHECK(wsprune_prune_sessions(NULL, 1.0, true, &err) == NULL);
    expect_error_naming(err != NULL ? wsprune_error_status(err) : WSPRUNE_STATUS_OK, err,
                        WSPRUNE_STATUS_INVALID_ARGUMENT, ROOT_W, ROOT_ALT);
    CHECK(wsprune_session_create(NULL, NULL, NULL, 0, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_acquire(NULL, NULL, NULL, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_prune_sessions(NULL, NAN, false, NULL) == NULL);

    /* NULL session id (create takes NULL as "generate one", tested in test_create). */
    err = NULL;
    EXPECT_ERROR_NAMING(wsprune_session_touch(root, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ID_W, ID_ALT);
    err = NULL;
    lease = (wsprune_lease *)&err; /* garbage: must become NULL */
    EXPECT_ERROR_NAMING(wsprune_session_acquire(root, NULL, &lease, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ID_W,
                        ID_ALT);
    CHECK(lease == NULL);
    CHECK(wsprune_session_acquire(root, NULL, &lease, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);

    /* NULL out_lease and NULL lease. */
    err = NULL;
    EXPECT_ERROR_NAMING(wsprune_session_acquire(root, id, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, "out_lease",
                        "lease");
    CHECK(wsprune_session_acquire(root, id, NULL, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR_NAMING(wsprune_lease_release(NULL, false, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, "lease", "lease");
    CHECK(wsprune_lease_release(NULL, true, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);

    /* Invalid UTF-8 as the root and as the id, for every function. Nothing is
     * created anywhere (the bad names are relative: they would land in the cwd). */
    for (size_t i = 0; i < N_BAD_UTF8; i++) {
        const char *bad = bad_utf8[i];
        err = NULL;
        EXPECT_ERROR_NAMING(wsprune_session_create(bad, NULL, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ROOT_W,
                            ROOT_ALT);
        err = NULL;
        EXPECT_ERROR_NAMING(wsprune_session_touch(bad, id, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ROOT_W, ROOT_ALT);
        err = NULL;
        lease = NULL;
        EXPECT_ERROR_NAMING(wsprune_session_acquire(bad, id, &lease, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ROOT_W,
                            ROOT_ALT);
        CHECK(lease == NULL);
        err = NULL;
        CHECK(wsprune_prune_sessions(bad, 1.0, false, &err) == NULL);
        expect_error_naming(err != NULL ? wsprune_error_status(err) : WSPRUNE_STATUS_OK, err,
                            WSPRUNE_STATUS_INVALID_ARGUMENT, ROOT_W, ROOT_ALT);
        CHECK(!exists(bad));

        err = NULL;
        EXPECT_ERROR_NAMING(wsprune_session_create(root, bad, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ID_W,
                            ID_ALT);
        err = NULL;
        EXPECT_ERROR_NAMING(wsprune_session_touch(root, bad, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ID_W, ID_ALT);
        err = NULL;
        EXPECT_ERROR_NAMING(wsprune_session_acquire(root, bad, &lease, &err), WSPRUNE_STATUS_INVALID_ARGUMENT, ID_W,
                            ID_ALT);
        CHECK(lease == NULL);
        /* And with no error pointer at all. */
        CHECK(wsprune_session_create(root, bad, NULL, 0, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
        CHECK(wsprune_session_touch(root, bad, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
        CHECK(wsprune_session_acquire(root, bad, &lease, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    }
    /* The root holds only the session made above. */
    DIR *d = opendir(root);
    int entries = 0;
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && strcmp(de->d_name, ".wsprune") != 0)
            entries++;
    if (d) closedir(d);
    CHECK(entries == 1);

    /* Absurdly long arguments: a root far past PATH_MAX (under the test's
     * directory, should anything be created) is an OS error with a message;
     * a 100 000-character id is not a UUID. */
    size_t big = 100000;
    char *huge = malloc(big + 1);
    memset(huge, 'a', big);
    huge[big] = 0;
    memcpy(huge, base, strlen(base));
    for (size_t i = strlen(base); i < big; i += 100) huge[i] = '/';
    err = NULL;
    EXPECT_ERROR(wsprune_session_touch(huge, id, &err), WSPRUNE_STATUS_IO);
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(huge, NULL, NULL, 0, &err), WSPRUNE_STATUS_IO);
    err = NULL;
    CHECK(wsprune_prune_sessions(huge, 1.0, true, &err) == NULL);
    expect_error(err != NULL ? wsprune_error_status(err) : WSPRUNE_STATUS_OK, err, WSPRUNE_STATUS_IO);
    memset(huge, 'a', big);
    err = NULL;
    EXPECT_ERROR(wsprune_session_touch(root, huge, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(root, huge, NULL, 0, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
    free(huge);
}

static void test_misuse_buffers_and_numbers(void) {
    char root[256], p[512];
    wsprune_error *err = NULL;
    new_root(root, sizeof root);

    /* out_id too small (0, 1, 36 bytes): INVALID_ARGUMENT naming out_id_len,
     * the buffer is not written to at all, and nothing is created. */
    size_t lens[] = {0, 1, 36};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        char buf[64];
        memset(buf, 'Z', sizeof buf);
        err = NULL;
        EXPECT_ERROR_NAMING(wsprune_session_create(root, NULL, buf, lens[i], &err), WSPRUNE_STATUS_INVALID_ARGUMENT,
                            "out_id_len", "buffer");
        int untouched = 1;
        for (size_t j = 0; j < sizeof buf; j++) untouched &= buf[j] == 'Z';
        CHECK(untouched);
        err = NULL;
        EXPECT_ERROR(wsprune_session_create(root, "0f8fad5b-d9cb-469f-a165-70867728950e", buf, lens[i], &err),
                     WSPRUNE_STATUS_INVALID_ARGUMENT);
        CHECK(wsprune_session_create(root, NULL, buf, lens[i], NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    }
    CHECK(!exists(root));
    /* Exactly 37 bytes (heap, so ASan and valgrind see any write past it),
     * and a length far larger than the buffer: 37 bytes are written. */
    char *exact = malloc(37);
    CHECK(wsprune_session_create(root, NULL, exact, 37, NULL) == WSPRUNE_STATUS_OK);
    CHECK(strlen(exact) == 36);
    free(exact);
    char *roomy = malloc(64);
    memset(roomy, 'Z', 64);
    CHECK(wsprune_session_create(root, NULL, roomy, SIZE_MAX, NULL) == WSPRUNE_STATUS_OK);
    CHECK(strlen(roomy) == 36 && roomy[37] == 'Z');
    free(roomy);
    /* out_id NULL with any length is fine. */
    CHECK(wsprune_session_create(root, NULL, NULL, 5, NULL) == WSPRUNE_STATUS_OK);

    /* Thresholds: NaN (quiet, negative, with a payload), infinities and
     * negatives are INVALID_ARGUMENT with a message about the hours; huge and
     * tiny finite ones are fine. */
    double invalid[] = {NAN, -NAN, nan("0x7ff"), INFINITY, -INFINITY, -DBL_MAX, -1.0, -DBL_MIN, -4.9e-324};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        for (int dry = 0; dry < 2; dry++) {
            err = NULL;
            CHECK(wsprune_prune_sessions(root, invalid[i], dry, &err) == NULL);
            expect_error_naming(err != NULL ? wsprune_error_status(err) : WSPRUNE_STATUS_OK, err,
                                WSPRUNE_STATUS_INVALID_ARGUMENT, "hours", "threshold");
            CHECK(wsprune_prune_sessions(root, invalid[i], dry, NULL) == NULL);
        }
    }
    /* Huge finite thresholds keep everything; nothing is that old. */
    double huge[] = {DBL_MAX, 1e300, 1e18, (double)UINT64_MAX};
    for (size_t i = 0; i < sizeof huge / sizeof huge[0]; i++) {
        err = (wsprune_error *)&err;
        wsprune_prune_result *r = wsprune_prune_sessions(root, huge[i], false, &err);
        CHECK(r != NULL && err == NULL);
        CHECK(wsprune_prune_result_deleted_count(r) == 0 && wsprune_prune_result_error_count(r) == 0);
        wsprune_prune_result_free(r);
    }
    /* Tiny positive thresholds (subnormal included) behave like a tiny age:
     * every session with metadata that is not in the future goes. A dry run
     * says so and deletes nothing. */
    double tiny[] = {4.9e-324, DBL_MIN, DBL_EPSILON};
    for (size_t i = 0; i < sizeof tiny / sizeof tiny[0]; i++) {
        wsprune_prune_result *r = wsprune_prune_sessions(root, tiny[i], true, NULL);
        CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 3 && wsprune_prune_result_error_count(r) == 0);
        wsprune_prune_result_free(r);
    }
    /* -0.0 compares equal to 0: either accepted as 0 or refused, never a crash. */
    err = NULL;
    wsprune_prune_result *r = wsprune_prune_sessions(root, -0.0, true, &err);
    CHECK((r != NULL && err == NULL && wsprune_prune_result_deleted_count(r) == 3) ||
          (r == NULL && err != NULL && wsprune_error_status(err) == WSPRUNE_STATUS_INVALID_ARGUMENT));
    wsprune_prune_result_free(r);
    wsprune_error_free(err);

    /* Accessors with out-of-range indices, on a real result. */
    r = wsprune_prune_sessions(root, 0.0, false, NULL);
    CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 3);
    size_t far[] = {3, 1000, SIZE_MAX};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        CHECK(wsprune_prune_result_deleted_id(r, far[i]) == NULL);
        CHECK(wsprune_prune_result_skipped_id(r, far[i]) == NULL);
        CHECK(wsprune_prune_result_skipped_reason(r, far[i]) == NULL);
        CHECK(wsprune_prune_result_error_id(r, far[i]) == NULL);
        CHECK(wsprune_prune_result_error_message(r, far[i]) == NULL);
    }
    CHECK(wsprune_prune_result_deleted_id(r, 2) != NULL);
    wsprune_prune_result_free(r);

    /* Status names for values outside the enum: any int is answered (the
     * parameter is an int since 0.4.0, not a Rust enum, for which these
     * values would be undefined behaviour at the call itself). */
    const int out_of_range[] = {8, 9, 99, 256, -1, -8, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof out_of_range / sizeof out_of_range[0]; i++)
        CHECK(strcmp(wsprune_status_name(out_of_range[i]), "WSPRUNE_STATUS_UNKNOWN") == 0);
    CHECK(strcmp(wsprune_status_name((wsprune_status)8), "WSPRUNE_STATUS_UNKNOWN") == 0);

    /* A session state outside wsprune_session_state (an int, as every value
     * taken from C): answered 0, like NULL; -1 alone means every state. */
    char sid[37];
    create_ok(root, sid);
    struct wsprune_stats *st = wsprune_workspace_stats(root, 0, NULL);
    CHECK(st != NULL);
    CHECK(wsprune_stats_sessions(st, -1) >= 1 && wsprune_stats_sessions(st, 0) >= 1);
    const int bad_states[] = {4, 5, 99, -2, INT_MAX, INT_MIN};
    for (size_t i = 0; i < sizeof bad_states / sizeof bad_states[0]; i++)
        CHECK(wsprune_stats_sessions(st, bad_states[i]) == 0);
    wsprune_stats_free(st);

    /* A callback with NULL user_data is called with NULL; a NULL callback
     * with non-NULL user_data turns events off. */
    misuse_events = 0;
    wsprune_set_log_callback(count_event, NULL);
    char id[37];
    create_ok(root, id);
    CHECK(__atomic_load_n(&misuse_events, __ATOMIC_SEQ_CST) > 0);
    wsprune_set_log_callback(NULL, &misuse_events);
    int seen = __atomic_load_n(&misuse_events, __ATOMIC_SEQ_CST);
    create_ok(root, id);
    CHECK(__atomic_load_n(&misuse_events, __ATOMIC_SEQ_CST) == seen);
    join(p, sizeof p, root, id);
    CHECK(exists(p));
}

static void test_events(void) {
    struct recorder *rec = calloc(1, sizeof *rec);
    pthread_mutex_init(&rec->mu, NULL);
    char root[256], id[37], stale[37];
    new_root(root, sizeof root);
    wsprune_set_log_callback(record, rec);
    create_ok(root, id);
    create_ok(root, stale);
    CHECK(wsprune_session_touch(root, id, NULL) == WSPRUNE_STATUS_OK);
    backdate(root, stale, "2020-01-01T00:00:00.000000Z");
    char p[512];
    join(p, sizeof p, root, "55555555-2222-4333-8444-555555555555");
    mkdir(p, 0755);
    wsprune_prune_result_free(wsprune_prune_sessions(root, 24.0, false, NULL));
    wsprune_set_log_callback(NULL, NULL);
    int n_after_off = rec->n;
    char later[37];
    create_ok(root, later); /* no events now */
    CHECK(rec->n == n_after_off);
    CHECK(rec->seen_user_data == rec);

    int i = find_event(rec, "session.metadata.created", id);
    CHECK(i >= 0 && strstr(rec->fields[i], "\"created_at\"") != NULL && rec->levels[i] == WSPRUNE_LEVEL_INFO);
    i = find_event(rec, "session.metadata.updated", id);
    CHECK(i >= 0 && strstr(rec->fields[i], "\"timestamp\"") != NULL);
    i = find_event(rec, "session.prune.started", NULL);
    CHECK(i >= 0 && strstr(rec->fields[i], "\"threshold_hours\"") && strstr(rec->fields[i], "\"workspace_root\"") &&
          strstr(rec->fields[i], "\"dry_run\""));
    i = find_event(rec, "session.prune.candidate", stale);
    CHECK(i >= 0 && strstr(rec->fields[i], "\"age_hours\"") && strstr(rec->fields[i], "\"threshold_hours\""));
    i = find_event(rec, "session.prune.deleted", stale);
    CHECK(i >= 0 && strstr(rec->fields[i], "\"reclaimed_bytes\"") && strstr(rec->fields[i], "\"age_hours\""));
    i = find_event(rec, "session.prune.skipped", "55555555-2222-4333-8444-555555555555");
    CHECK(i >= 0 && strstr(rec->fields[i], "\"reason\":\"missing_metadata\""));
    i = find_event(rec, "session.prune.completed", NULL);
    CHECK(i >= 0 && strstr(rec->fields[i], "\"deleted_count\":1") && strstr(rec->fields[i], "\"skipped_count\":1") &&
          strstr(rec->fields[i], "\"error_count\":0") && strstr(rec->fields[i], "\"reclaimed_bytes\"") &&
          strstr(rec->fields[i], "\"dry_run\":false"));
    pthread_mutex_destroy(&rec->mu);
    free(rec);
}

struct toucher {
    const char *root;
    char id[37];
    int failures;
};

static void *touch_loop(void *arg) {
    struct toucher *t = arg;
    for (int i = 0; i < 300; i++)
        if (wsprune_session_touch(t->root, t->id, NULL) != WSPRUNE_STATUS_OK) t->failures++;
    return NULL;
}

static void test_threads(void) {
    char root[256];
    new_root(root, sizeof root);
    struct toucher t[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        t[i].root = root;
        t[i].failures = 0;
        create_ok(root, t[i].id);
    }
    for (int i = 0; i < 4; i++) pthread_create(&th[i], NULL, touch_loop, &t[i]);
    int prune_failures = 0;
    for (int i = 0; i < 30; i++) {
        wsprune_prune_result *r = wsprune_prune_sessions(root, 1000.0, false, NULL);
        if (r == NULL || wsprune_prune_result_deleted_count(r) != 0 || wsprune_prune_result_error_count(r) != 0)
            prune_failures++;
        wsprune_prune_result_free(r);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK(t[i].failures == 0);
    }
    CHECK(prune_failures == 0);
}

/* ---- session ids (UUID spellings, custom ids) and leftover trash ---- */

static int is_dir(const char *p) {
    struct stat st;
    return lstat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_session_ids(void) {
    char root[256], p[1024], out[WSPRUNE_SESSION_ID_MAX_LEN];
    wsprune_error *err = NULL;
    bool created = false;
    new_root(root, sizeof root);
    CHECK(WSPRUNE_SESSION_ID_MAX_LEN == 256);

    /* One UUID, one session: created under the canonical spelling, found by any. */
    const char *canon = "abcdef01-2345-6789-abcd-ef0123456789";
    CHECK(wsprune_session_create(root, "ABCDEF0123456789ABCDEF0123456789", out, 37, &err) == WSPRUNE_STATUS_OK);
    CHECK(strcmp(out, canon) == 0);
    join(p, sizeof p, root, canon);
    CHECK(is_dir(p));
    const char *spellings[] = {"abcdef01-2345-6789-abcd-ef0123456789", "ABCDEF01-2345-6789-ABCD-EF0123456789",
                               "abcdef0123456789abcdef0123456789", "ABCDEF0123456789ABCDEF0123456789"};
    for (size_t i = 0; i < 4; i++) {
        err = NULL;
        EXPECT_ERROR(wsprune_session_create(root, spellings[i], NULL, 0, &err), WSPRUNE_STATUS_ALREADY_EXISTS);
        CHECK(wsprune_session_touch(root, spellings[i], NULL) == WSPRUNE_STATUS_OK);
        wsprune_session_details d;
        memset(&d, 0, sizeof d);
        d.struct_size = sizeof d;
        CHECK(wsprune_session_info(root, spellings[i], &d, NULL) == WSPRUNE_STATUS_OK);
        CHECK(d.state == WSPRUNE_SESSION_STATE_OK);
        created = true;
        CHECK(wsprune_session_open(root, spellings[i], out, sizeof out, &created, NULL) == WSPRUNE_STATUS_OK);
        CHECK(!created && strcmp(out, canon) == 0);
    }

    /* Custom ids: created as given, every call works; the buffer must fit them. */
    const char *custom = "user-42 session";
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(root, custom, out, strlen(custom), &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    join(p, sizeof p, root, custom);
    CHECK(!exists(p));
    CHECK(wsprune_session_create(root, custom, out, strlen(custom) + 1, NULL) == WSPRUNE_STATUS_OK);
    CHECK(strcmp(out, custom) == 0 && is_dir(p));
    CHECK(wsprune_session_touch(root, custom, NULL) == WSPRUNE_STATUS_OK);
    wsprune_lease *lease = NULL;
    CHECK(wsprune_session_acquire(root, custom, &lease, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_lease_release(lease, true, NULL) == WSPRUNE_STATUS_OK);
    uint64_t freed = 0;
    CHECK(wsprune_session_delete(root, custom, 0, &freed, NULL) == WSPRUNE_STATUS_OK);
    CHECK(!exists(p) && freed > 0);

    /* 255 bytes is an id; 256 is not. */
    char longest[300];
    memset(longest, 'x', 255);
    longest[255] = 0;
    CHECK(wsprune_session_create(root, longest, out, sizeof out, NULL) == WSPRUNE_STATUS_OK);
    CHECK(strcmp(out, longest) == 0);
    CHECK(wsprune_session_delete(root, longest, 0, NULL, NULL) == WSPRUNE_STATUS_OK);
    longest[255] = 'x';
    longest[256] = 0;
    err = NULL;
    EXPECT_ERROR(wsprune_session_create(root, longest, out, sizeof out, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);

    /* Hostile ids: refused on every call, nothing created or touched. */
    const char *hostile[] = {"..", ".", "a/b", "../escape", ".hidden", "new\nline", "tab\tid", "bell\a",
                             ".wsprune-trash.0f8fad5b-d9cb-469f-a165-70867728950e.1.2", "site-packages", ""};
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        err = NULL;
        EXPECT_ERROR(wsprune_session_create(root, hostile[i], out, sizeof out, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
        err = NULL;
        EXPECT_ERROR(wsprune_session_open(root, hostile[i], out, sizeof out, &created, &err),
                     WSPRUNE_STATUS_INVALID_SESSION_ID);
        err = NULL;
        EXPECT_ERROR(wsprune_session_touch(root, hostile[i], &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
        err = NULL;
        EXPECT_ERROR(wsprune_session_delete(root, hostile[i], 0, NULL, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
        lease = NULL;
        err = NULL;
        EXPECT_ERROR(wsprune_session_acquire(root, hostile[i], &lease, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
        CHECK(lease == NULL);
    }
    snprintf(p, sizeof p, "%s/escape", base);
    CHECK(!exists(p));
    /* NULL and non-UTF-8 ids to open: like every string, INVALID_ARGUMENT for bad UTF-8. */
    err = NULL;
    EXPECT_ERROR(wsprune_session_open(root, "\xff\xfe", out, sizeof out, &created, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    err = NULL;
    EXPECT_ERROR(wsprune_session_open(NULL, "x", out, sizeof out, &created, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    created = false;
    CHECK(wsprune_session_open(root, NULL, out, 37, &created, NULL) == WSPRUNE_STATUS_OK);
    CHECK(created && strlen(out) == 36);
    err = NULL;
    EXPECT_ERROR(wsprune_session_open(root, NULL, out, 36, &created, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);

    /* Create-or-open: new custom id, then existing; a legacy UUID directory
     * and a custom-id directory without metadata get metadata. */
    created = false;
    CHECK(wsprune_session_open(root, "reused", out, sizeof out, &created, NULL) == WSPRUNE_STATUS_OK);
    CHECK(created && strcmp(out, "reused") == 0);
    CHECK(wsprune_session_open(root, "reused", NULL, 0, NULL, NULL) == WSPRUNE_STATUS_OK);
    created = true;
    CHECK(wsprune_session_open(root, "reused", out, sizeof out, &created, NULL) == WSPRUNE_STATUS_OK);
    CHECK(!created);
    const char *legacy = "33333333-3333-4333-8333-333333333333";
    join(p, sizeof p, root, legacy);
    CHECK(mkdir(p, 0755) == 0);
    /* A directory without metadata is not a session: an open does not adopt
     * it (a prune would delete it), and writes nothing into it. */
    created = true;
    CHECK(wsprune_session_open(root, "33333333333343338333333333333333", out, sizeof out, &created, NULL) ==
          WSPRUNE_STATUS_NOT_FOUND);
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, legacy);
    CHECK(!exists(p));
    join(p, sizeof p, root, "adopted");
    CHECK(mkdir(p, 0755) == 0);
    err = NULL;
    EXPECT_ERROR(wsprune_session_acquire(root, "adopted", &lease, &err), WSPRUNE_STATUS_NOT_FOUND);
    err = NULL;
    EXPECT_ERROR(wsprune_session_open(root, "adopted", out, sizeof out, &created, &err), WSPRUNE_STATUS_NOT_FOUND);
    /* With valid metadata (the reference implementation's), it is opened and registered. */
    snprintf(p, sizeof p, "%s/adopted/.metadata.json", root);
    write_all(p, "{\"session_id\": \"adopted\", \"created_at\": \"2020-01-01T00:00:00Z\", \"updated_at\": \"2020-01-01T00:00:00Z\"}");
    CHECK(wsprune_session_open(root, "adopted", out, sizeof out, &created, NULL) == WSPRUNE_STATUS_OK);
    CHECK(!created);
    snprintf(p, sizeof p, "%s/.wsprune/sessions/adopted", root);
    CHECK(exists(p));
    CHECK(wsprune_session_acquire(root, "adopted", &lease, NULL) == WSPRUNE_STATUS_OK);
    CHECK(wsprune_lease_release(lease, false, NULL) == WSPRUNE_STATUS_OK);
    /* "site-packages" and hidden directories are never sessions, not even with metadata. */
    join(p, sizeof p, root, "site-packages");
    CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/site-packages/.metadata.json", root);
    write_all(p, "{}");

    /* Leftover trash with a live session of the same id: reported apart. */
    const char *live = "44444444-4444-4444-8444-444444444444";
    CHECK(wsprune_session_create(root, live, NULL, 0, NULL) == WSPRUNE_STATUS_OK);
    backdate(root, live, "2099-01-01T00:00:00.000000Z"); /* in the future: never goes */
    char trash[128];
    snprintf(trash, sizeof trash, ".wsprune-trash.%s.1.2", live);
    join(p, sizeof p, root, trash);
    CHECK(mkdir(p, 0755) == 0);
    snprintf(p, sizeof p, "%s/%s/left", root, trash);
    write_size(p, 77);
    err = NULL;
    wsprune_prune_result *r = wsprune_prune_sessions(root, 0.0, false, &err);
    CHECK(r != NULL && err == NULL);
    if (r != NULL) {
        CHECK(wsprune_prune_result_interrupted_count(r) == 1);
        CHECK(strcmp(wsprune_prune_result_interrupted_name(r, 0), trash) == 0);
        CHECK(wsprune_prune_result_interrupted_name(r, 1) == NULL);
        CHECK(!has_id(r, live, wsprune_prune_result_deleted_count, wsprune_prune_result_deleted_id));
        CHECK(!has_id(r, "site-packages", wsprune_prune_result_skipped_count, wsprune_prune_result_skipped_id));
        CHECK(wsprune_prune_result_reclaimed_bytes(r) >= 77);
        char *json = wsprune_prune_result_to_json(r);
        CHECK(json != NULL && strstr(json, "\"interrupted\":[\".wsprune-trash.") != NULL);
        wsprune_string_free(json);
        wsprune_prune_result_free(r);
    }
    join(p, sizeof p, root, live);
    CHECK(is_dir(p));
    join(p, sizeof p, root, "site-packages");
    CHECK(is_dir(p));
    CHECK(wsprune_prune_result_interrupted_count(NULL) == 0);
    CHECK(wsprune_prune_result_interrupted_name(NULL, 0) == NULL);
}

/* wsprune_list_sessions and wsprune_session_read_metadata (0.3.0): the
 * listing in ls --json form, the metadata as stored, bad input. */
static void test_list_and_read_metadata(void) {
    char root[256], id[37], p[512];
    new_root(root, sizeof root);
    wsprune_error *err = NULL;
    char *json = (char *)&json;

    /* A missing root is NOT_FOUND and leaves *out_json NULL. */
    CHECK(wsprune_list_sessions(root, &json, &err) == WSPRUNE_STATUS_NOT_FOUND);
    CHECK(json == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_NOT_FOUND);

    CHECK(mkdir(root, 0755) == 0);
    unregistered(root, id, 0xf0);
    /* A foreign writer's format (a directory it made) is handed on as stored. */
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, id);
    char text[512];
    snprintf(text, sizeof text,
             "{\"session_id\": \"%s\", \"created_at\": \"2020-01-01T00:00:00.000001+00:00\", "
             "\"updated_at\": \"2020-01-02T00:00:00+00:00\", \"version\": 1, \"owner\": \"ci\"}", id);
    write_all(p, text);
    const char *legacy = "11111111-2222-4333-8444-555555555555";
    join(p, sizeof p, root, legacy);
    mkdir(p, 0755);
    char custom[] = "notebook-7";
    join(p, sizeof p, root, custom);
    CHECK(mkdir(p, 0700) == 0);
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, custom);
    write_all(p, "{broken");
    /* Not sessions: a custom-id directory without metadata, a hidden one, a file. */
    join(p, sizeof p, root, "scratch");
    mkdir(p, 0755);
    join(p, sizeof p, root, ".hidden");
    mkdir(p, 0755);
    join(p, sizeof p, root, "notes.txt");
    write_all(p, "x");

    CHECK(wsprune_list_sessions(root, &json, &err) == WSPRUNE_STATUS_OK);
    CHECK(err == NULL);
    CHECK(json != NULL && json[0] == '[');
    if (json) {
        char want[128];
        snprintf(want, sizeof want, "\"session_id\":\"%s\"", id);
        CHECK(strstr(json, want) != NULL);
        CHECK(strstr(json, "\"session_id\":\"11111111-2222-4333-8444-555555555555\",\"created_at\":null") != NULL);
        CHECK(strstr(json, "\"session_id\":\"notebook-7\"") != NULL);
        CHECK(strstr(json, "\"state\":\"corrupted\"") != NULL);
        CHECK(strstr(json, "\"state\":\"legacy\"") != NULL);
        CHECK(strstr(json, "scratch") == NULL && strstr(json, "hidden") == NULL && strstr(json, "notes") == NULL);
        wsprune_string_free(json);
    }

    /* Metadata as stored: the writer's own timestamp strings and extra fields. */
    char upper[37];
    for (int i = 0; i < 37; i++) upper[i] = (char)toupper((unsigned char)id[i]);
    CHECK(wsprune_session_read_metadata(root, upper, &json, &err) == WSPRUNE_STATUS_OK);
    if (json) {
        char want[128];
        snprintf(want, sizeof want, "\"session_id\":\"%s\",\"state\":\"ok\"", id);
        CHECK(strstr(json, want) != NULL);
        CHECK(strstr(json, "\"updated_at\":\"2020-01-02T00:00:00+00:00\"") != NULL);
        CHECK(strstr(json, "\"owner\":\"ci\"") != NULL);
        CHECK(strstr(json, "\"problem\":null") != NULL);
        wsprune_string_free(json);
    }
    CHECK(wsprune_session_read_metadata(root, legacy, &json, NULL) == WSPRUNE_STATUS_OK);
    CHECK(json != NULL && strstr(json, "\"state\":\"legacy\",\"metadata\":null") != NULL);
    wsprune_string_free(json);
    CHECK(wsprune_session_read_metadata(root, custom, &json, NULL) == WSPRUNE_STATUS_OK);
    CHECK(json != NULL && strstr(json, "\"state\":\"corrupted\"") != NULL && strstr(json, "\"problem\":null") == NULL);
    wsprune_string_free(json);

    /* Bad input: a status, *out_json NULL, nothing read outside the root. */
    json = (char *)&json;
    CHECK(wsprune_session_read_metadata(root, "../etc", &json, &err) == WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK(json == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK(wsprune_session_read_metadata(root, "scratch", &json, &err) == WSPRUNE_STATUS_OK);
    CHECK(json != NULL && strstr(json, "\"state\":\"legacy\"") != NULL);
    wsprune_string_free(json);
    CHECK(wsprune_session_read_metadata(root, "22222222-2222-4222-8222-222222222222", &json, &err) ==
          WSPRUNE_STATUS_NOT_FOUND);
    CHECK_ERR(err, WSPRUNE_STATUS_NOT_FOUND);
    CHECK(wsprune_session_read_metadata(NULL, id, &json, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_read_metadata(root, id, NULL, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_list_sessions(root, NULL, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_list_sessions(NULL, &json, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
}

/* The mode bits of `root/name`, or -1. */
static int mode_of(const char *root, const char *name) {
    char p[512];
    struct stat st;
    join(p, sizeof p, root, name);
    return lstat(p, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* Whether `root` has a host record for `id` (.wsprune/sessions/<id>). */
static int registered(const char *root, const char *id) {
    char p[512];
    snprintf(p, sizeof p, "%s/.wsprune/sessions/%s", root, id);
    return exists(p);
}

static void test_session_options(void) {
    char root[256], p[512], out[WSPRUNE_SESSION_ID_MAX_LEN];
    wsprune_error *err = NULL;
    mode_t old_umask = umask(022);
    new_root(root, sizeof root);

    /* init: the defaults are all zero; a bigger (newer) struct's tail is zeroed; bad size or NULL refused. */
    wsprune_session_options o;
    memset(&o, 0xAB, sizeof o);
    CHECK(wsprune_session_options_init(&o, sizeof o) == WSPRUNE_STATUS_OK);
    CHECK(o.struct_size == sizeof o && o.dir_mode == 0 && !o.adopt && o.reserved == NULL && o.reserved_count == 0);
    unsigned char big[sizeof o + 16];
    memset(big, 0xAB, sizeof big);
    CHECK(wsprune_session_options_init((wsprune_session_options *)(void *)big, sizeof big) == WSPRUNE_STATUS_OK);
    int tail_zero = 1;
    for (size_t i = sizeof o; i < sizeof big; i++) tail_zero &= big[i] == 0;
    CHECK(tail_zero);
    CHECK(wsprune_session_options_init(NULL, sizeof o) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_session_options_init(&o, 8) == WSPRUNE_STATUS_INVALID_ARGUMENT);

    /* Unset mode (NULL options or a zero field): 0700. */
    CHECK(wsprune_session_create_with_options(root, "plain", NULL, out, sizeof out, &err) == WSPRUNE_STATUS_OK);
    CHECK(err == NULL && strcmp(out, "plain") == 0 && mode_of(root, "plain") == 0700);
    CHECK(registered(root, "plain"));
    wsprune_session_options_init(&o, sizeof o);
    CHECK(wsprune_session_create_with_options(root, NULL, &o, out, sizeof out, NULL) == WSPRUNE_STATUS_OK);
    CHECK(strlen(out) == 36 && mode_of(root, out) == 0700);
    o.dir_mode = 0750;
    CHECK(wsprune_session_create_with_options(root, "shared", &o, NULL, 0, NULL) == WSPRUNE_STATUS_OK);
    CHECK(mode_of(root, "shared") == 0750);
    /* Bad modes: INVALID_ARGUMENT, nothing created. */
    unsigned bad_modes[] = {0644, 01777, 0100000 | 0700, 0300};
    for (size_t i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
        o.dir_mode = bad_modes[i];
        EXPECT_ERROR(wsprune_session_create_with_options(root, "badmode", &o, NULL, 0, &err),
                     WSPRUNE_STATUS_INVALID_ARGUMENT);
        CHECK(mode_of(root, "badmode") == -1);
    }
    /* A struct_size out of range, or a newer caller's unknown field set: INVALID_ARGUMENT. */
    wsprune_session_options_init(&o, sizeof o);
    o.struct_size = 8;
    EXPECT_ERROR(wsprune_session_create_with_options(root, "sized", &o, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    memset(big, 0, sizeof big);
    wsprune_session_options_init((wsprune_session_options *)(void *)big, sizeof big);
    big[sizeof big - 1] = 1;
    EXPECT_ERROR(wsprune_session_create_with_options(root, "sized", (wsprune_session_options *)(void *)big, NULL, 0, &err),
                 WSPRUNE_STATUS_INVALID_ARGUMENT);
    big[sizeof big - 1] = 0;
    CHECK(wsprune_session_create_with_options(root, "sized", (wsprune_session_options *)(void *)big, NULL, 0, NULL) ==
          WSPRUNE_STATUS_OK);
    CHECK(mode_of(root, "sized") == 0700);

    /* Reserved names: INVALID_SESSION_ID on create and open, with adopt or without; bad lists INVALID_ARGUMENT. */
    const char *reserved[] = {"pip-cache", "models"};
    wsprune_session_options_init(&o, sizeof o);
    o.reserved = reserved;
    o.reserved_count = 2;
    EXPECT_ERROR(wsprune_session_create_with_options(root, "models", &o, NULL, 0, &err),
                 WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK(mode_of(root, "models") == -1);
    join(p, sizeof p, root, "pip-cache");
    mkdir(p, 0755);
    o.adopt = true;
    EXPECT_ERROR(wsprune_session_open_with_options(root, "pip-cache", &o, NULL, 0, NULL, &err),
                 WSPRUNE_STATUS_INVALID_SESSION_ID);
    CHECK(!registered(root, "pip-cache"));
    snprintf(p, sizeof p, "%s/pip-cache/.metadata.json", root);
    CHECK(!exists(p));
    EXPECT_ERROR(wsprune_session_open_with_options(root, "site-packages", &o, NULL, 0, NULL, &err),
                 WSPRUNE_STATUS_INVALID_SESSION_ID);
    const char *with_null[] = {"ok", NULL};
    o.reserved = with_null;
    EXPECT_ERROR(wsprune_session_open_with_options(root, "x1", &o, NULL, 0, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    const char *not_utf8[] = {"\xff\xfe"};
    o.reserved = not_utf8;
    o.reserved_count = 1;
    EXPECT_ERROR(wsprune_session_open_with_options(root, "x1", &o, NULL, 0, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    o.reserved = NULL;
    EXPECT_ERROR(wsprune_session_open_with_options(root, "x1", &o, NULL, 0, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(mode_of(root, "x1") == -1);

    /* Adopt: a directory without metadata is NOT_FOUND (left as it was) unless adopt is set. */
    join(p, sizeof p, root, "opsdir");
    mkdir(p, 0755);
    wsprune_session_options_init(&o, sizeof o);
    bool created = true;
    EXPECT_ERROR(wsprune_session_open_with_options(root, "opsdir", &o, NULL, 0, &created, &err),
                 WSPRUNE_STATUS_NOT_FOUND);
    CHECK(!registered(root, "opsdir"));
    EXPECT_ERROR(wsprune_session_open_with_options(root, "opsdir", NULL, NULL, 0, &created, &err),
                 WSPRUNE_STATUS_NOT_FOUND);
    o.adopt = true;
    CHECK(wsprune_session_open_with_options(root, "opsdir", &o, out, sizeof out, &created, &err) == WSPRUNE_STATUS_OK);
    CHECK(err == NULL && !created && strcmp(out, "opsdir") == 0 && registered(root, "opsdir"));
    snprintf(p, sizeof p, "%s/opsdir/.metadata.json", root);
    CHECK(exists(p));
    /* Opening it again needs no adopt: it is registered. */
    o.adopt = false;
    CHECK(wsprune_session_open_with_options(root, "opsdir", &o, NULL, 0, &created, NULL) == WSPRUNE_STATUS_OK);
    CHECK(!created);
    /* Creating through open takes the mode; adopt does not matter for a new session. */
    o.dir_mode = 0710;
    CHECK(wsprune_session_open_with_options(root, "fresh", &o, out, sizeof out, &created, NULL) == WSPRUNE_STATUS_OK);
    CHECK(created && mode_of(root, "fresh") == 0710);
    /* The usual argument checks. */
    EXPECT_ERROR(wsprune_session_open_with_options(NULL, "x", NULL, NULL, 0, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    EXPECT_ERROR(wsprune_session_create_with_options(root, "../x", NULL, NULL, 0, &err), WSPRUNE_STATUS_INVALID_SESSION_ID);
    char small[4];
    EXPECT_ERROR(wsprune_session_create_with_options(root, "toolong", NULL, small, sizeof small, &err),
                 WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(mode_of(root, "toolong") == -1);
    umask(old_umask);
}

static void test_migrate(void) {
    char root[256], p[512];
    wsprune_error *err = NULL;
    char *json = (char *)&json;
    new_root(root, sizeof root);
    /* A missing root: NOT_FOUND, *out_json NULL. */
    CHECK(wsprune_migrate_sessions(root, false, &json, &err) == WSPRUNE_STATUS_NOT_FOUND);
    CHECK(json == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_NOT_FOUND);
    mkdir(root, 0711);
    /* What older writers left: valid metadata, none (a UUID), corrupted metadata. */
    const char *legacy = "11111111-2222-4333-8444-555555555555";
    const char *broken = "22222222-2222-4333-8444-555555555555";
    join(p, sizeof p, root, "old-nb");
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/old-nb/.metadata.json", root);
    write_all(p, "{\"session_id\": \"old-nb\", \"created_at\": \"2020-01-01T00:00:00+00:00\", "
                 "\"updated_at\": \"2020-01-02T00:00:00+00:00\", \"version\": 1}");
    join(p, sizeof p, root, legacy);
    mkdir(p, 0755);
    join(p, sizeof p, root, broken);
    mkdir(p, 0755);
    snprintf(p, sizeof p, "%s/%s/.metadata.json", root, broken);
    write_all(p, "{broken");

    /* A dry run reports and registers nothing. */
    CHECK(wsprune_migrate_sessions(root, true, &json, &err) == WSPRUNE_STATUS_OK);
    CHECK(err == NULL && json != NULL);
    if (json) {
        CHECK(strstr(json, "\"dry_run\":true") != NULL);
        CHECK(strstr(json, "\"session_id\":\"old-nb\"") != NULL);
        CHECK(strstr(json, "\"session_id\":\"11111111-2222-4333-8444-555555555555\"") != NULL);
        CHECK(strstr(json, "\"skipped\":{\"22222222-2222-4333-8444-555555555555\":") != NULL);
        wsprune_string_free(json);
    }
    CHECK(!registered(root, "old-nb") && !registered(root, legacy) && !registered(root, broken));
    /* The real run registers the two, keeps the trusted times, skips the corrupted one. */
    CHECK(wsprune_migrate_sessions(root, false, &json, NULL) == WSPRUNE_STATUS_OK);
    if (json) {
        CHECK(strstr(json, "\"dry_run\":false") != NULL);
        CHECK(strstr(json, "\"session_id\":\"old-nb\",\"had_metadata\":true,\"updated_at\":\"2020-01-02T00:00:00.000000Z\"") != NULL);
        wsprune_string_free(json);
    }
    CHECK(registered(root, "old-nb") && registered(root, legacy) && !registered(root, broken));
    /* Again: nothing left to register. */
    CHECK(wsprune_migrate_sessions(root, false, &json, NULL) == WSPRUNE_STATUS_OK);
    CHECK(json != NULL && strstr(json, "\"registered\":[]") != NULL);
    wsprune_string_free(json);
    /* NULL out_json or root: INVALID_ARGUMENT. */
    CHECK(wsprune_migrate_sessions(root, false, NULL, &err) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(wsprune_migrate_sessions(NULL, true, &json, NULL) == WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(json == NULL);
}

/* Labels from C: set at create (options.labels), changed (set_labels, its
 * JSON owned by the caller), and selected by a prune (label_selector,
 * per-owner caps); bad input is INVALID_ARGUMENT and changes nothing. */
static void test_labels(void) {
    char root[256];
    wsprune_error *err = NULL;
    new_root(root, sizeof root);
    wsprune_session_options o;
    wsprune_session_options_init(&o, sizeof o);
    CHECK(o.labels == NULL && o.labels_count == 0);
    const char *alice[] = {"owner=alice", "tier=free"};
    o.labels = alice;
    o.labels_count = 2;
    CHECK(wsprune_session_create_with_options(root, "a1", &o, NULL, 0, &err) == WSPRUNE_STATUS_OK && err == NULL);
    CHECK(wsprune_session_create_with_options(root, "a2", &o, NULL, 0, NULL) == WSPRUNE_STATUS_OK);
    const char *bob[] = {"owner=bob"};
    o.labels = bob;
    o.labels_count = 1;
    CHECK(wsprune_session_create_with_options(root, "b1", &o, NULL, 0, NULL) == WSPRUNE_STATUS_OK);
    const char *bad[] = {"own er=x"};
    o.labels = bad;
    EXPECT_ERROR(wsprune_session_create_with_options(root, "nope", &o, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    o.labels = NULL; /* a count without an array */
    EXPECT_ERROR(wsprune_session_create_with_options(root, "nope", &o, NULL, 0, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(!registered(root, "nope"));

    const char *changes[] = {"tier=pro", "gpu="};
    char *json = (char *)&json;
    CHECK(wsprune_session_set_labels(root, "a2", changes, 2, &json, &err) == WSPRUNE_STATUS_OK && err == NULL);
    CHECK(json != NULL && strcmp(json, "{\"gpu\":\"\",\"owner\":\"alice\",\"tier\":\"pro\"}") == 0);
    wsprune_string_free(json);
    const char *removal[] = {"gpu-"};
    CHECK(wsprune_session_set_labels(root, "a2", removal, 1, NULL, NULL) == WSPRUNE_STATUS_OK);
    const char *bad_change[] = {"tier=x", "owner"};
    json = (char *)&json;
    EXPECT_ERROR(wsprune_session_set_labels(root, "a2", bad_change, 2, &json, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);
    CHECK(json == NULL);
    EXPECT_ERROR(wsprune_session_set_labels(root, "missing", changes, 2, NULL, &err), WSPRUNE_STATUS_NOT_FOUND);
    EXPECT_ERROR(wsprune_session_set_labels(root, "a1", NULL, 1, NULL, &err), WSPRUNE_STATUS_INVALID_ARGUMENT);

    wsprune_prune_options p;
    wsprune_prune_options_init(&p, sizeof p);
    CHECK(p.label_selector == NULL && p.per_owner == NULL && p.max_sessions_per_owner == 0);
    p.older_than_hours = 0.0;
    p.dry_run = true;
    p.label_selector = "owner=alice,tier!=pro";
    wsprune_prune_result *r = wsprune_prune_sessions_with_options(root, &p, &err);
    CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 1 && strcmp(wsprune_prune_result_deleted_id(r, 0), "a1") == 0);
    wsprune_prune_result_free(r);
    p.label_selector = "";
    CHECK(wsprune_prune_sessions_with_options(root, &p, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
    p.label_selector = NULL;
    p.use_older_than = false;
    p.min_age_hours = 0.0;
    p.per_owner = "owner";
    p.max_sessions_per_owner = 1;
    r = wsprune_prune_sessions_with_options(root, &p, &err);
    CHECK(r != NULL && wsprune_prune_result_deleted_count(r) == 1);
    CHECK(r != NULL && strcmp(wsprune_prune_result_deleted_rule(r, 0), "max_sessions_per_owner") == 0);
    wsprune_prune_result_free(r);
    p.per_owner = NULL; /* a cap without the owner label */
    CHECK(wsprune_prune_sessions_with_options(root, &p, &err) == NULL);
    CHECK_ERR(err, WSPRUNE_STATUS_INVALID_ARGUMENT);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(base, sizeof base, "%s/wsprune-ctest-XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(base) == NULL) { perror("mkdtemp"); return 2; }
    test_names_and_version();
    test_null_safety();
    test_misuse_strings();
    test_misuse_buffers_and_numbers();
    test_create();
    test_touch();
    test_prune();
    test_leases();
    test_events();
    test_threads();
    test_session_ids();
    test_list_and_read_metadata();
    test_session_options();
    test_migrate();
    test_labels();
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", base);
    printf("%d passed, %d failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}
