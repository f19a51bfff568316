/*
 * wsprune demo (the seed's task 4.4): create sessions, touch them, backdate
 * some, then a dry run and a real prune, printing what happens.
 *
 * Build and run: bash examples/run_demo.sh
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>
#include <time.h>

#include "wsprune.h"

static const char *level_name(wsprune_level level) {
    switch (level) {
    case WSPRUNE_LEVEL_DEBUG: return "debug";
    case WSPRUNE_LEVEL_INFO: return "info";
    case WSPRUNE_LEVEL_WARNING: return "warning";
    case WSPRUNE_LEVEL_ERROR: return "error";
    }
    return "?";
}

static void on_event(void *user_data, wsprune_level level, const char *event, const char *fields_json) {
    FILE *out = user_data;
    fprintf(out, "  [event %-7s] %s %s\n", level_name(level), event, fields_json);
}

static int check(wsprune_status st, wsprune_error *err, const char *what) {
    if (st == WSPRUNE_STATUS_OK) return 0;
    fprintf(stderr, "%s failed: %s: %s\n", what, wsprune_status_name(st), wsprune_error_message(err));
    wsprune_error_free(err);
    return 1;
}

static void write_file(const char *path, size_t size) {
    FILE *f = fopen(path, "w");
    if (f == NULL) { perror(path); exit(1); }
    for (size_t i = 0; i < size; i++) fputc('a' + (int)(i % 26), f);
    fclose(f);
}

/* Rewrites a session's metadata so it was last used on `when` (what an old session looks like). */
static void backdate(const char *root, const char *id, const char *when) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s/.metadata.json", root, id);
    FILE *f = fopen(path, "w");
    if (f == NULL) { perror(path); exit(1); }
    fprintf(f, "{\n  \"session_id\": \"%s\",\n  \"created_at\": \"%s\",\n  \"updated_at\": \"%s\",\n  \"version\": 1\n}\n",
            id, when, when);
    fclose(f);
}

static void print_result(const wsprune_prune_result *r) {
    printf("%s\n", wsprune_prune_result_summary(r));
    for (size_t i = 0; i < wsprune_prune_result_deleted_count(r); i++)
        printf("  %s %s\n", wsprune_prune_result_dry_run(r) ? "would delete" : "deleted     ",
               wsprune_prune_result_deleted_id(r, i));
    for (size_t i = 0; i < wsprune_prune_result_skipped_count(r); i++)
        printf("  skipped      %s (%s)\n", wsprune_prune_result_skipped_id(r, i), wsprune_prune_result_skipped_reason(r, i));
    for (size_t i = 0; i < wsprune_prune_result_error_count(r); i++)
        printf("  error        %s: %s\n", wsprune_prune_result_error_id(r, i), wsprune_prune_result_error_message(r, i));
    printf("  reclaimed_bytes = %llu\n", (unsigned long long)wsprune_prune_result_reclaimed_bytes(r));
    char *json = wsprune_prune_result_to_json(r);
    printf("  json: %s\n", json);
    wsprune_string_free(json);
}

int main(void) {
    char root[] = "/tmp/wsprune-demo-XXXXXX";
    if (mkdtemp(root) == NULL) { perror("mkdtemp"); return 1; }
    printf("wsprune %s, workspace root %s\n\n", wsprune_version(), root);
    wsprune_set_log_callback(on_event, stdout);

    wsprune_error *err = NULL;
    char fresh[37], stale[37], leased[37], path[4096];
    const char *legacy = "6b1c1f0e-3a57-4c3e-9d7e-2f2b1d0c9a11";

    printf("== create four sessions\n");
    if (check(wsprune_session_create(root, NULL, fresh, sizeof fresh, &err), err, "create")) return 1;
    if (check(wsprune_session_create(root, NULL, stale, sizeof stale, &err), err, "create")) return 1;
    if (check(wsprune_session_create(root, NULL, leased, sizeof leased, &err), err, "create")) return 1;
    snprintf(path, sizeof path, "%s/%s", root, legacy);
    mkdir(path, 0755); /* a legacy session: created before wsprune, no metadata */

    /* Give the stale session some work files in nested directories. */
    snprintf(path, sizeof path, "%s/%s/src", root, stale);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/src/pkg", root, stale);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/src/pkg/main.py", root, stale);
    write_file(path, 40000);
    snprintf(path, sizeof path, "%s/%s/output.csv", root, stale);
    write_file(path, 1500000);

    printf("\n== touch after each execution\n");
    if (check(wsprune_session_touch(root, fresh, &err), err, "touch")) return 1;
    if (check(wsprune_session_touch(root, legacy, &err), err, "touch legacy")) return 1;
    printf("  touching a legacy session is OK and silent\n");

    printf("\n== backdate two sessions to three days ago, lease one of them\n");
    char three_days_ago[32];
    time_t then = time(NULL) - 3 * 24 * 3600;
    strftime(three_days_ago, sizeof three_days_ago, "%Y-%m-%dT%H:%M:%S.000000Z", gmtime(&then));
    backdate(root, stale, three_days_ago);
    backdate(root, leased, three_days_ago);
    wsprune_lease *lease = NULL;
    if (check(wsprune_session_acquire(root, leased, &lease, &err), err, "acquire")) return 1;

    printf("\n== dry run, older than 24 hours\n");
    wsprune_prune_result *r = wsprune_prune_sessions(root, 24.0, true, &err);
    if (r == NULL) return check(wsprune_error_status(err), err, "dry run");
    print_result(r);
    wsprune_prune_result_free(r);

    printf("\n== real prune, older than 24 hours\n");
    r = wsprune_prune_sessions(root, 24.0, false, &err);
    if (r == NULL) return check(wsprune_error_status(err), err, "prune");
    print_result(r);
    wsprune_prune_result_free(r);

    printf("\n== release the lease without touching: the next prune deletes it\n");
    if (check(wsprune_lease_release(lease, false, &err), err, "release")) return 1;
    wsprune_set_log_callback(NULL, NULL);
    r = wsprune_prune_sessions(root, 24.0, false, &err);
    if (r == NULL) return check(wsprune_error_status(err), err, "prune");
    print_result(r);
    wsprune_prune_result_free(r);

    printf("\n== what remains in %s\n", root);
    DIR *d = opendir(root);
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL)
        if (e->d_name[0] != '.') printf("  %s%s\n", e->d_name, strcmp(e->d_name, fresh) == 0 ? " (fresh)" : strcmp(e->d_name, legacy) == 0 ? " (legacy)" : "");
    if (d != NULL) closedir(d);

    /* Clean up: a zero-hour prune removes the fresh session; the legacy one has no metadata. */
    r = wsprune_prune_sessions(root, 0.0, false, NULL);
    wsprune_prune_result_free(r);
    snprintf(path, sizeof path, "%s/%s", root, legacy);
    rmdir(path);
    rmdir(root);
    return 0;
}
