#include "engine/ids.hpp"

#include <sys/random.h>
#include <time.h>

#include <array>
#include <cstdio>
#include <ctime>

namespace husk::engine {
namespace {

constexpr std::array kAdjectives = {
    "admiring", "brave",   "calm",   "clever", "dazzling", "eager",   "festive",    "gallant",
    "happy",    "jolly",   "keen",   "lucid",  "modest",   "nifty",   "optimistic", "peaceful",
    "quirky",   "relaxed", "serene", "tender", "upbeat",   "vibrant", "wizardly",   "youthful",
    "zealous",  "bold",    "cranky", "dreamy", "elastic",  "focused"};
constexpr std::array kSurnames = {
    "lovelace", "turing",   "hopper",  "knuth",     "ritchie", "thompson", "torvalds", "hamilton",
    "noether",  "curie",    "euler",   "gauss",     "shannon", "dijkstra", "lamport",  "liskov",
    "babbage",  "boole",    "church",  "kernighan", "pike",    "wirth",    "backus",   "mccarthy",
    "allen",    "goldberg", "perlman", "engelbart", "bohr",    "tesla"};

uint64_t random_u64() {
    uint64_t v = 0;
    while (::getrandom(&v, sizeof v, 0) != sizeof v) {
    }
    return v;
}

}  // namespace

std::string new_container_id() {
    unsigned char bytes[32];
    size_t got = 0;
    while (got < sizeof bytes) {
        ssize_t n = ::getrandom(bytes + got, sizeof bytes - got, 0);
        if (n > 0) got += static_cast<size_t>(n);
    }
    static const char* hex = "0123456789abcdef";
    std::string id;
    id.reserve(64);
    for (unsigned char b : bytes) {
        id.push_back(hex[b >> 4]);
        id.push_back(hex[b & 15]);
    }
    return id;
}

std::string random_name() {
    uint64_t r = random_u64();
    std::string name = kAdjectives[r % kAdjectives.size()];
    name += "_";
    name += kSurnames[(r / kAdjectives.size()) % kSurnames.size()];
    return name;
}

Result<std::string> validate_name(const std::string& input) {
    std::string name = input.starts_with("/") ? input.substr(1) : input;
    auto ok_first = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    };
    bool valid = name.size() >= 2 && name.size() <= 128 && ok_first(name[0]);
    for (char c : name)
        if (!ok_first(c) && c != '_' && c != '.' && c != '-') valid = false;
    if (!valid)
        return fail_invalid(
            "invalid container name {:?}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed", input);
    return name;
}

bool is_full_id(const std::string& s) {
    if (s.size() != 64) return false;
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

int64_t now_ns() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

std::string now_rfc3339() {
    struct timespec ts {};
    ::clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm {};
    ::gmtime_r(&ts.tv_sec, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
    return buf;
}

int64_t parse_rfc3339(const std::string& s) {
    struct tm tm {};
    int year = 0, mon = 0, day = 0, hour = 0, min = 0, sec = 0, consumed = 0;
    if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d%n", &year, &mon, &day, &hour, &min, &sec,
                    &consumed) != 6)
        return 0;
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    tm.tm_sec = sec;
    int64_t ns = static_cast<int64_t>(::timegm(&tm)) * 1000000000;
    size_t at = static_cast<size_t>(consumed);
    if (at < s.size() && s[at] == '.') {
        int64_t frac = 0;
        int digits = 0;
        for (++at; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at) {
            if (digits < 9) {
                frac = frac * 10 + (s[at] - '0');
                ++digits;
            }
        }
        while (digits++ < 9) frac *= 10;
        ns += frac;
    }
    return ns;
}

}  // namespace husk::engine
