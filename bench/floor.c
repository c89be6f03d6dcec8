// The raw floor of a container start, and the timing loop of bench/runtime-lifecycle.
//
//   floor run ROOTFS
//       What every runtime does at the least for `run` of /bin/true with 5 namespaces:
//       clone(NEWPID|NEWNS|NEWIPC|NEWUTS|NEWNET); in the child make / private, bind ROOTFS
//       on itself, mount /proc, pivot_root into it, detach the old root and exec /bin/true.
//       The parent waits and exits with the child's status.
//
//   floor time N CMD [ARG...]
//       Runs CMD N times in sequence (posix_spawn + waitpid) and prints the wall time of each
//       run in nanoseconds, one per line. "%d" in an ARG is replaced by the run's index, so
//       each run can have its own container id. The same loop times every runtime and the
//       floor, so the measuring overhead is identical for all. The runs get /dev/null as
//       stdin and stdout and share floor's stderr. Stops at the first run that
//       fails (its status on stderr, exit 1).
//
// Build: cc -O2 -o floor floor.c
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char** environ;

static void die(const char* what) {
    fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
    _exit(127);
}

static const char* g_rootfs;

static int child(void* arg) {
    (void)arg;
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private");
    if (mount(g_rootfs, g_rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind rootfs");
    if (chdir(g_rootfs) < 0) die("chdir rootfs");
    if (mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("mount /proc");
    // pivot_root(".", "."): the old root ends up stacked on top of the new one at "/".
    if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root");
    if (umount2(".", MNT_DETACH) < 0) die("umount old root");
    if (chdir("/") < 0) die("chdir /");
    char* argv[] = {"/bin/true", NULL};
    char* envp[] = {"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
    execve(argv[0], argv, envp);
    die("exec /bin/true");
    return 127;
}

static int cmd_run(const char* rootfs) {
    static char stack[64 * 1024] __attribute__((aligned(16)));
    g_rootfs = rootfs;
    int flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | SIGCHLD;
    pid_t pid = clone(child, stack + sizeof stack, flags, NULL);
    if (pid < 0) die("clone");
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) die("waitpid");
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

// Replaces every "%d" in s by n; returns a malloc'd string.
static char* subst(const char* s, long n) {
    char num[32];
    int nlen = snprintf(num, sizeof num, "%ld", n);
    size_t len = strlen(s);
    char* out = malloc(len * (size_t)nlen + 1);  // generous: each 2-char "%d" grows by < nlen
    if (!out) die("malloc");
    char* o = out;
    for (const char* p = s; *p;) {
        if (p[0] == '%' && p[1] == 'd') {
            memcpy(o, num, (size_t)nlen);
            o += nlen;
            p += 2;
        } else {
            *o++ = *p++;
        }
    }
    *o = 0;
    return out;
}

static int cmd_time(long n, int argc, char** argv) {
    char** args = calloc((size_t)argc + 1, sizeof *args);
    if (!args) die("calloc");
    // The runs' stdin and stdout are /dev/null (stdout carries the timings); stderr is kept.
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    for (long i = 0; i < n; i++) {
        for (int a = 0; a < argc; a++) args[a] = subst(argv[a], i);
        long long t0 = now_ns();
        pid_t pid;
        int err = posix_spawnp(&pid, args[0], &fa, NULL, args, environ);
        if (err) {
            errno = err;
            die(args[0]);
        }
        int status;
        while (waitpid(pid, &status, 0) < 0)
            if (errno != EINTR) die("waitpid");
        long long t1 = now_ns();
        for (int a = 0; a < argc; a++) free(args[a]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (WIFEXITED(status))
                fprintf(stderr, "floor: run %ld of %s exited with %d\n", i, argv[0],
                        WEXITSTATUS(status));
            else
                fprintf(stderr, "floor: run %ld of %s killed by signal %d\n", i, argv[0],
                        WTERMSIG(status));
            return 1;
        }
        printf("%lld\n", t1 - t0);
        fflush(stdout);
    }
    posix_spawn_file_actions_destroy(&fa);
    free(args);
    return 0;
}

int main(int argc, char** argv) {
    if (argc == 3 && strcmp(argv[1], "run") == 0) return cmd_run(argv[2]);
    if (argc >= 4 && strcmp(argv[1], "time") == 0) {
        char* end;
        long n = strtol(argv[2], &end, 10);
        if (*end || n < 1) {
            fprintf(stderr, "floor: bad count %s\n", argv[2]);
            return 2;
        }
        return cmd_time(n, argc - 3, argv + 3);
    }
    fprintf(stderr, "usage: floor run ROOTFS | floor time N CMD [ARG...]\n");
    return 2;
}
