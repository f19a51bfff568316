/*
 * The check macros of the C ABI test programs (tests/c/test_*.c): CHECK
 * counts a passed or failed condition and names a failure; CHECK_ERR checks
 * that an error carries a status and a message, then frees it. Each program
 * prints "N passed, N failed" from `passed` and `failed`. du_bytes is what
 * `du -sB1` says a path takes: the sizes wsprune reports (docs/contract.md).
 */
#ifndef WSPRUNE_TEST_CHECK_H
#define WSPRUNE_TEST_CHECK_H

#include <stdio.h>
#include <string.h>

#include "wsprune.h"

static int passed, failed;

#define CHECK(cond)                                                              \
    do {                                                                         \
        if (cond) {                                                              \
            passed++;                                                            \
        } else {                                                                 \
            failed++;                                                            \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);      \
        }                                                                        \
    } while (0)

/* Checks that `err` carries `status` and a non-empty message, then frees it. */
#define CHECK_ERR(err, status)                                                   \
    do {                                                                         \
        CHECK((err) != NULL);                                                    \
        if ((err) != NULL) {                                                     \
            CHECK(wsprune_error_status(err) == (status));                        \
            CHECK(strlen(wsprune_error_message(err)) > 0);                       \
            wsprune_error_free(err);                                             \
            (err) = NULL;                                                        \
        }                                                                        \
    } while (0)

/* `du -sB1 path`'s figure (allocated blocks, each inode once); -1 on failure. */
static long long du_bytes(const char *path) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "du -sB1 '%s'", path);
    FILE *p = popen(cmd, "r");
    long long n = -1;
    if (p == NULL || fscanf(p, "%lld", &n) != 1) n = -1;
    if (p != NULL) pclose(p);
    return n;
}

#endif
