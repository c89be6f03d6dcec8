#pragma once
// Error values for everything below the CLI edge: an errno (or 0) plus a message chain.
// Context is added where it is known, outermost first: "create container x: mount proc on
// /proc: Permission denied".
#include <cerrno>
#include <cstring>
#include <expected>
#include <string>
#include <utility>

#include <fmt/core.h>

namespace husk {

class [[nodiscard]] Error {
public:
    Error() = default;
    Error(int errnum, std::string message) : errno_(errnum), message_(std::move(message)) {}

    // An error from a failed syscall: captures the current errno.
    template <typename... Args>
    static Error from_errno(fmt::format_string<Args...> format, Args&&... args) {
        int saved = errno;
        return Error(saved, fmt::format(format, std::forward<Args>(args)...));
    }
    // An error that is not a syscall failure (bad input, a broken invariant).
    template <typename... Args>
    static Error invalid(fmt::format_string<Args...> format, Args&&... args) {
        return Error(0, fmt::format(format, std::forward<Args>(args)...));
    }

    // Prefixes context, keeping the errno: err.wrap("mount {} on {}", src, dst).
    template <typename... Args>
    Error wrap(fmt::format_string<Args...> format, Args&&... args) const& {
        return Error(errno_, fmt::format(format, std::forward<Args>(args)...) + ": " + message_);
    }

    int errnum() const { return errno_; }
    const std::string& message() const { return message_; }
    // The message with the errno's text appended, as users see it.
    std::string what() const {
        if (errno_ == 0) return message_;
        return message_ + ": " + std::strerror(errno_);
    }

private:
    int errno_ = 0;
    std::string message_;
};

template <typename T>
using Result = std::expected<T, Error>;
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(Error e) {
    return std::unexpected<Error>(std::move(e));
}

// Shorthands for the two most common failure shapes.
template <typename... Args>
std::unexpected<Error> fail_errno(fmt::format_string<Args...> format, Args&&... args) {
    return fail(Error::from_errno(format, std::forward<Args>(args)...));
}
template <typename... Args>
std::unexpected<Error> fail_invalid(fmt::format_string<Args...> format, Args&&... args) {
    return fail(Error::invalid(format, std::forward<Args>(args)...));
}

}  // namespace husk

// Propagates a failed Result/Status from the enclosing function. GCC 12 has no
// statement-expression-free alternative that keeps this short; it is used at call sites
// where each step can fail and the context is added by the callee.
#define HUSK_TRY(expr)                                                \
    do {                                                              \
        if (auto husk_try_result_ = (expr); !husk_try_result_)        \
            return ::husk::fail(std::move(husk_try_result_).error()); \
    } while (0)

// As HUSK_TRY, adding context to the error.
#define HUSK_TRY_CTX(expr, ...)                                              \
    do {                                                                     \
        if (auto husk_try_result_ = (expr); !husk_try_result_)               \
            return ::husk::fail(husk_try_result_.error().wrap(__VA_ARGS__)); \
    } while (0)
