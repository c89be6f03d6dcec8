// Built static by the security tests (cc -static) and run inside a container: makes syscalls
// a seccomp profile may block and prints "<name> <errno>" (0 when the call succeeded), so a
// test can compare with what the profile promises. Raw syscall(2): no libc wrapper decides
// for us (glibc may fall back from clone3 to clone, for one).
#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_clone3
#define SYS_clone3 435
#endif

static void report(const char* name, long rc) {
    printf("%s %d\n", name, rc < 0 ? errno : 0);
}

int main(int argc, char** argv) {
    for (int i = 1; i < argc; i++) {
        const char* what = argv[i];
        errno = 0;
        if (!strcmp(what, "keyctl")) {
            report(what, syscall(SYS_keyctl, 0 /* KEYCTL_GET_KEYRING_ID */, -3, 0));
        } else if (!strcmp(what, "add_key")) {
            report(what, syscall(SYS_add_key, "user", "husk", "x", 1, -3));
        } else if (!strcmp(what, "unshare-user")) {
            report(what, syscall(SYS_unshare, CLONE_NEWUSER));
        } else if (!strcmp(what, "kexec_load")) {
            report(what, syscall(SYS_kexec_load, 0, 0, NULL, 0));
        } else if (!strcmp(what, "mount")) {
            report(what, syscall(SYS_mount, "none", "/tmp", "tmpfs", 0, NULL));
        } else if (!strcmp(what, "clone-newuser")) {
            // clone is allowed only without namespace flags (SCMP_CMP_MASKED_EQ on arg 0).
            long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, 0, 0, 0, 0);
            if (pid == 0) _exit(0);
            if (pid > 0) waitpid((pid_t)pid, NULL, 0);
            report(what, pid);
        } else if (!strcmp(what, "clone-plain")) {
            long pid = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
            if (pid == 0) _exit(0);
            if (pid > 0) waitpid((pid_t)pid, NULL, 0);
            report(what, pid);
        } else if (!strcmp(what, "clone3")) {
            report(what, syscall(SYS_clone3, NULL, 0));
        } else if (!strcmp(what, "bpf")) {
            report(what, syscall(SYS_bpf, 0, NULL, 0));
        } else if (!strcmp(what, "open_by_handle_at")) {
            report(what, syscall(SYS_open_by_handle_at, -1, NULL, 0));
        } else if (!strcmp(what, "personality-bad")) {
            report(what, syscall(SYS_personality, 0x0040000 /* ADDR_NO_RANDOMIZE */));
        } else if (!strcmp(what, "personality-query")) {
            report(what, syscall(SYS_personality, 0xffffffff));
        } else if (!strcmp(what, "getpid")) {
            report(what, syscall(SYS_getpid));
        } else if (!strcmp(what, "mkdir")) {
            report(what, syscall(SYS_mkdir, "/tmp/husk-notify-probe", 0755));
        } else {
            printf("%s unknown-probe\n", what);
        }
        fflush(stdout);
    }
    return 0;
}
