/* Runs a command with netlink's netfilter family refused as a kernel without nfnetlink
 * refuses it (socket(AF_NETLINK, *, NETLINK_NETFILTER) -> EPROTONOSUPPORT): how the tests
 * simulate a guest kernel without nf_tables on a host that has it. */
#include <errno.h>
#include <linux/netlink.h>
#include <seccomp.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char** argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: no-netfilter CMD...\n");
        return 125;
    }
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
    if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPROTONOSUPPORT), SCMP_SYS(socket), 2,
                                 SCMP_A0(SCMP_CMP_EQ, AF_NETLINK),
                                 SCMP_A2(SCMP_CMP_EQ, NETLINK_NETFILTER)) != 0 ||
        seccomp_load(ctx) != 0) {
        fprintf(stderr, "no-netfilter: cannot load the seccomp filter\n");
        return 125;
    }
    execvp(argv[1], argv + 1);
    perror(argv[1]);
    return 127;
}
