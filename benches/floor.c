/* The floor for create and touch latency: plain C doing the same I/O as
 * wsprune with none of its checks, and the naive write-temp-and-rename
 * design for comparison. Compiled with `cc -O2` and run by the benchmark
 * suite (benches/suite/latency.rs); prints one duration in nanoseconds per
 * call, one per line, after all calls (so printing is never timed).
 *
 *   floor create       DIR FIRST COUNT JSONFILE       mkdir, open O_CREAT|O_EXCL, write, close
 *   floor naive-create DIR FIRST COUNT JSONFILE       mkdir, write a temp file, rename it into place
 *   floor host-create  ROOT FIRST COUNT JSONFILE      the least a create of a *registered* session must do
 *                                                     (crash-safe record and mirror, a lock file, the host
 *                                                     directory checked): open the root (O_PATH), open
 *                                                     .wsprune (O_NOFOLLOW) and fstat it (owned by us, not
 *                                                     group- or other-writable), open its sessions/ and
 *                                                     locks/ (O_PATH), mkdirat the session 0700, create its
 *                                                     lock file, open the session directory (O_PATH),
 *                                                     write .metadata.json and the record each as a temp
 *                                                     file (O_EXCL|O_NOFOLLOW), write, close and
 *                                                     renameat2 RENAME_NOREPLACE, the five closes
 *   floor touch        DIR SESSIONS COUNT OFFSET STAMP open, read, 27-byte pwrite at OFFSET, close
 *   floor safe-touch   DIR SESSIONS COUNT OFFSET STAMP the least a *checked* touch must do (every check wsprune makes):
 *                                                     open the root (O_PATH), openat2 <id>/.metadata.json
 *                                                     beneath it with O_PATH and RESOLVE_BENEATH|
 *                                                     RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV (no symlink, no
 *                                                     mount crossing, nothing opened), fstat (regular
 *                                                     file, one link), reopen that inode O_RDWR through
 *                                                     /proc/self/fd/N, read, 27-byte pwrite, fstatat of
 *                                                     <id>/.metadata.json beneath the root (still the
 *                                                     file written: the session was not moved away),
 *                                                     the three closes
 *   floor host-touch   ROOT SESSIONS COUNT OFFSET STAMP the least a touch of a *registered* session must do
 *                                                     (its record is the host's, so no guest symlink or
 *                                                     file can be in its way): open the root (O_PATH),
 *                                                     openat2 .wsprune/sessions/<id> beneath it O_RDWR|
 *                                                     O_NOFOLLOW|O_NONBLOCK with RESOLVE_BENEATH|
 *                                                     RESOLVE_NO_SYMLINKS|RESOLVE_NO_XDEV, one read,
 *                                                     27-byte pwrite at OFFSET, fstat (st_nlink: the
 *                                                     record was not unlinked by a deletion), two closes
 *   floor naive-touch  DIR SESSIONS COUNT JSONFILE    open, read, close, write a temp file, rename it
 *                                                     over .metadata.json (replacing)
 *
 * Session i is DIR/<a UUID-shaped name made from i>; touches cycle over
 * sessions 0..SESSIONS-1, made earlier by the matching create mode (for
 * host-touch: by wsprune's create_session, so ROOT/.wsprune/sessions/<name>
 * is each session's record).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, const char *path) {
    perror(what);
    fprintf(stderr, "floor: %s failed on %s\n", what, path);
    exit(1);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void session_dir(char *out, size_t len, const char *dir, long i) {
    snprintf(out, len, "%s/%08lx-0000-4000-8000-000000000000", dir, i);
}

static char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) die("fopen", path);
    static char buf[65536];
    *len = fread(buf, 1, sizeof buf, f);
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 6) {
        fprintf(stderr, "usage: see the comment at the top of floor.c\n");
        return 2;
    }
    const char *mode = argv[1], *dir = argv[2];
    long a = atol(argv[3]), count = atol(argv[4]);
    long long *ns = malloc(sizeof *ns * (size_t)count);
    char sdir[2048], file[4096], tmp[4096], buf[4096];
    if (!strcmp(mode, "create") || !strcmp(mode, "naive-create")) {
        size_t jlen;
        const char *json = read_file(argv[5], &jlen);
        int naive = !strcmp(mode, "naive-create");
        for (long k = 0; k < count; k++) {
            session_dir(sdir, sizeof sdir, dir, a + k);
            snprintf(file, sizeof file, "%s/.metadata.json", sdir);
            snprintf(tmp, sizeof tmp, "%s/.metadata.json.tmp", sdir);
            long long t = now_ns();
            if (mkdir(sdir, 0700) != 0) die("mkdir", sdir);
            int fd = open(naive ? tmp : file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
            if (fd < 0) die("open", file);
            if (write(fd, json, jlen) != (ssize_t)jlen) die("write", file);
            close(fd);
            if (naive && rename(tmp, file) != 0) die("rename", tmp);
            ns[k] = now_ns() - t;
        }
    } else if (!strcmp(mode, "host-create")) {
        size_t jlen;
        const char *json = read_file(argv[5], &jlen);
        char name[64], host[2048];
        /* The host directory, as wsprune's first create makes it (not timed). */
        snprintf(host, sizeof host, "%s/.wsprune", dir);
        mkdir(host, 0700);
        snprintf(file, sizeof file, "%s/sessions", host);
        mkdir(file, 0700);
        snprintf(file, sizeof file, "%s/locks", host);
        mkdir(file, 0700);
        struct stat st;
        for (long k = 0; k < count; k++) {
            snprintf(name, sizeof name, "%08lx-0000-4000-8000-000000000000", a + k);
            long long t = now_ns();
            int rfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (rfd < 0) die("open", dir);
            int hfd = openat(rfd, ".wsprune", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (hfd < 0) die("openat", host);
            if (fstat(hfd, &st) != 0) die("fstat", host);
            if (st.st_uid != geteuid() || (st.st_mode & 022)) die("host directory check", host);
            int sfd = openat(hfd, "sessions", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            int lfd = openat(hfd, "locks", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sfd < 0 || lfd < 0) die("openat", host);
            if (mkdirat(rfd, name, 0700) != 0) die("mkdirat", name);
            int lk = openat(lfd, name, O_RDONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
            if (lk < 0) die("openat lock", name);
            close(lk);
            int dfd = openat(rfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (dfd < 0) die("openat", name);
            int dirs[2] = {dfd, sfd};
            const char *finals[2] = {".metadata.json", name};
            for (int w = 0; w < 2; w++) {
                int f = openat(dirs[w], ".tmp", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
                if (f < 0) die("openat temp", name);
                if (write(f, json, jlen) != (ssize_t)jlen) die("write", name);
                close(f);
                if (syscall(SYS_renameat2, dirs[w], ".tmp", dirs[w], finals[w], 1 /* RENAME_NOREPLACE */) != 0)
                    die("renameat2", name);
            }
            close(dfd);
            close(lfd);
            close(sfd);
            close(hfd);
            close(rfd);
            ns[k] = now_ns() - t;
        }
    } else if (!strcmp(mode, "touch") && argc >= 7) {
        long off = atol(argv[5]);
        const char *stamp = argv[6];
        for (long k = 0; k < count; k++) {
            session_dir(sdir, sizeof sdir, dir, k % a);
            snprintf(file, sizeof file, "%s/.metadata.json", sdir);
            long long t = now_ns();
            int fd = open(file, O_RDWR | O_CLOEXEC);
            if (fd < 0) die("open", file);
            if (read(fd, buf, sizeof buf) < 0) die("read", file);
            if (pwrite(fd, stamp, 27, off) != 27) die("pwrite", file);
            close(fd);
            ns[k] = now_ns() - t;
        }
    } else if (!strcmp(mode, "safe-touch") && argc >= 7) {
        long off = atol(argv[5]);
        const char *stamp = argv[6];
        char rel[128], proc[64];
        struct stat st, again;
        for (long k = 0; k < count; k++) {
            session_dir(sdir, sizeof sdir, dir, k % a);
            snprintf(rel, sizeof rel, "%s/.metadata.json", sdir + strlen(dir) + 1);
            long long t = now_ns();
            int rfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (rfd < 0) die("open", dir);
            struct open_how how = {
                .flags = O_PATH | O_NOFOLLOW | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV,
            };
            int pfd = (int)syscall(SYS_openat2, rfd, rel, &how, sizeof how);
            if (pfd < 0) die("openat2", rel);
            if (fstat(pfd, &st) != 0) die("fstat", rel);
            if (!S_ISREG(st.st_mode) || st.st_nlink != 1) die("type check", rel);
            snprintf(proc, sizeof proc, "/proc/self/fd/%d", pfd);
            int fd = open(proc, O_RDWR | O_CLOEXEC | O_NOCTTY);
            if (fd < 0) die("open", proc);
            if (read(fd, buf, sizeof buf) < 0) die("read", rel);
            if (pwrite(fd, stamp, 27, off) != 27) die("pwrite", rel);
            if (fstatat(rfd, rel, &again, AT_SYMLINK_NOFOLLOW) != 0) die("fstatat", rel);
            if (again.st_dev != st.st_dev || again.st_ino != st.st_ino) die("re-check", rel);
            close(fd);
            close(pfd);
            close(rfd);
            ns[k] = now_ns() - t;
        }
    } else if (!strcmp(mode, "host-touch") && argc >= 7) {
        long off = atol(argv[5]);
        const char *stamp = argv[6];
        char rel[128];
        struct stat st;
        for (long k = 0; k < count; k++) {
            snprintf(rel, sizeof rel, ".wsprune/sessions/%08lx-0000-4000-8000-000000000000", k % a);
            long long t = now_ns();
            int rfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
            if (rfd < 0) die("open", dir);
            struct open_how how = {
                .flags = O_RDWR | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC,
                .resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_XDEV,
            };
            int fd = (int)syscall(SYS_openat2, rfd, rel, &how, sizeof how);
            if (fd < 0) die("openat2", rel);
            if (read(fd, buf, sizeof buf) < 0) die("read", rel);
            if (pwrite(fd, stamp, 27, off) != 27) die("pwrite", rel);
            if (fstat(fd, &st) != 0) die("fstat", rel);
            if (st.st_nlink == 0) die("record unlinked", rel);
            close(fd);
            close(rfd);
            ns[k] = now_ns() - t;
        }
    } else if (!strcmp(mode, "naive-touch")) {
        size_t jlen;
        const char *json = read_file(argv[5], &jlen);
        for (long k = 0; k < count; k++) {
            session_dir(sdir, sizeof sdir, dir, k % a);
            snprintf(file, sizeof file, "%s/.metadata.json", sdir);
            snprintf(tmp, sizeof tmp, "%s/.metadata.json.tmp", sdir);
            long long t = now_ns();
            int fd = open(file, O_RDONLY | O_CLOEXEC);
            if (fd < 0) die("open", file);
            if (read(fd, buf, sizeof buf) < 0) die("read", file);
            close(fd);
            fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
            if (fd < 0) die("open", tmp);
            if (write(fd, json, jlen) != (ssize_t)jlen) die("write", tmp);
            close(fd);
            if (rename(tmp, file) != 0) die("rename", tmp);
            ns[k] = now_ns() - t;
        }
    } else {
        fprintf(stderr, "floor: unknown mode %s\n", mode);
        return 2;
    }
    for (long k = 0; k < count; k++) printf("%lld\n", ns[k]);
    return 0;
}
