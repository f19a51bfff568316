/* The C side of bench/overhead.mjs: times COUNT calls of one libwsprune
 * function, each on its own, and prints one latency per line (ns).
 *
 *   c_ops touch  ROOT ID COUNT   wsprune_session_touch(ROOT, ID)
 *   c_ops create ROOT COUNT      wsprune_session_create(ROOT, NULL) (new UUIDs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "wsprune.h"

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: c_ops touch ROOT ID COUNT | c_ops create ROOT COUNT\n");
        return 2;
    }
    int touch = strcmp(argv[1], "touch") == 0;
    long count = atol(argv[touch ? 4 : 3]);
    long long *lat = calloc((size_t)count, sizeof *lat);
    char id[256];
    for (long i = 0; i < count; i++) {
        wsprune_error *err = NULL;
        long long t0 = now_ns();
        enum wsprune_status s = touch ? wsprune_session_touch(argv[2], argv[3], &err)
                                      : wsprune_session_create(argv[2], NULL, id, sizeof id, &err);
        lat[i] = now_ns() - t0;
        if (s != WSPRUNE_STATUS_OK) {
            fprintf(stderr, "c_ops: %s\n", wsprune_error_message(err));
            return 1;
        }
    }
    for (long i = 0; i < count; i++) printf("%lld\n", lat[i]);
    free(lat);
    return 0;
}
