// cli.hpp's reporting, shared by every command area.
#include "cli.hpp"

#include <iostream>

namespace husk::cli {

int report(const Error& error) {
    std::cerr << "husk: " << error.what() << "\n";
    return exit_husk_error;
}

int finish(const Status& status) {
    return status ? 0 : report(status.error());
}

}  // namespace husk::cli
