/* The C side of bindings/java/bench.sh: the latency of wsprune_session_create
 * and wsprune_session_touch called from C, measured exactly as
 * TouchCreateBench.java measures them through the Java binding.
 *
 *   touch_create DIR SESSIONS TOUCHES   prints "create_ns touch_ns" (medians)
 *
 * A warm-up round (same sizes, in DIR/warm) runs first, as on the JVM. */
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

static int cmp(const void *a, const void *b) {
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

static long long median(long long *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

/* One round: n creates, then t touches cycling over the sessions. */
static int round_(const char *root, int n, int t, long long *create_ns, long long *touch_ns) {
    char (*ids)[256] = malloc((size_t)n * sizeof *ids);
    long long *c = malloc((size_t)n * sizeof *c), *u = malloc((size_t)t * sizeof *u);
    if (!ids || !c || !u) return 1;
    for (int i = 0; i < n; i++) {
        long long s = now_ns();
        if (wsprune_session_create(root, NULL, ids[i], sizeof ids[i], NULL) != WSPRUNE_STATUS_OK) return 1;
        c[i] = now_ns() - s;
    }
    for (int i = 0; i < t; i++) {
        long long s = now_ns();
        if (wsprune_session_touch(root, ids[i % n], NULL) != WSPRUNE_STATUS_OK) return 1;
        u[i] = now_ns() - s;
    }
    *create_ns = median(c, n);
    *touch_ns = median(u, t);
    free(ids);
    free(c);
    free(u);
    return 0;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s DIR SESSIONS TOUCHES\n", argv[0]);
        return 2;
    }
    int n = atoi(argv[2]), t = atoi(argv[3]);
    char warm[4096], real[4096];
    snprintf(warm, sizeof warm, "%s/warm", argv[1]);
    snprintf(real, sizeof real, "%s/run", argv[1]);
    long long cn, tn;
    if (round_(warm, n, t, &cn, &tn) || round_(real, n, t, &cn, &tn)) {
        fprintf(stderr, "touch_create: a call failed\n");
        return 1;
    }
    printf("%lld %lld\n", cn, tn);
    return 0;
}
