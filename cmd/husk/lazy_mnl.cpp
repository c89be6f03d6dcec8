// libmnl, loaded on first use: only the network, doctor and explain commands speak netlink
// from the husk process (husk-net, which attaches containers, links it normally), while every
// `husk` start paid for loading it. See lazy_library.hpp for how.
#include "lazy_library.hpp"

#ifdef HUSK_LAZY_LIBRARIES
namespace {
husk::cli::lazy::Forward mnl_symbol(const char* name) {
    static void* lib = husk::cli::lazy::open_library("libmnl.so.0");
    return husk::cli::lazy::symbol(lib, "libmnl.so.0", name);
}
}  // namespace

#define HUSK_LAZY(name) HUSK_LAZY_FORWARD(mnl_symbol, name)

HUSK_LAZY(mnl_attr_get_payload)
HUSK_LAZY(mnl_attr_get_payload_len)
HUSK_LAZY(mnl_attr_get_str)
HUSK_LAZY(mnl_attr_get_type)
HUSK_LAZY(mnl_attr_get_u32)
HUSK_LAZY(mnl_attr_get_u64)
HUSK_LAZY(mnl_attr_get_u8)
HUSK_LAZY(mnl_attr_nest_end)
HUSK_LAZY(mnl_attr_nest_start)
HUSK_LAZY(mnl_attr_next)
HUSK_LAZY(mnl_attr_ok)
HUSK_LAZY(mnl_attr_parse)
HUSK_LAZY(mnl_attr_parse_nested)
HUSK_LAZY(mnl_attr_put)
HUSK_LAZY(mnl_attr_put_strz)
HUSK_LAZY(mnl_attr_put_u32)
HUSK_LAZY(mnl_attr_put_u64)
HUSK_LAZY(mnl_attr_put_u8)
HUSK_LAZY(mnl_cb_run)
HUSK_LAZY(mnl_nlmsg_batch_current)
HUSK_LAZY(mnl_nlmsg_batch_head)
HUSK_LAZY(mnl_nlmsg_batch_next)
HUSK_LAZY(mnl_nlmsg_batch_size)
HUSK_LAZY(mnl_nlmsg_batch_start)
HUSK_LAZY(mnl_nlmsg_batch_stop)
HUSK_LAZY(mnl_nlmsg_get_payload)
HUSK_LAZY(mnl_nlmsg_get_payload_offset)
HUSK_LAZY(mnl_nlmsg_get_payload_tail)
HUSK_LAZY(mnl_nlmsg_put_extra_header)
HUSK_LAZY(mnl_nlmsg_put_header)
HUSK_LAZY(mnl_socket_bind)
HUSK_LAZY(mnl_socket_close)
HUSK_LAZY(mnl_socket_get_fd)
HUSK_LAZY(mnl_socket_get_portid)
HUSK_LAZY(mnl_socket_open)
HUSK_LAZY(mnl_socket_open2)
HUSK_LAZY(mnl_socket_recvfrom)
HUSK_LAZY(mnl_socket_sendto)

#endif
