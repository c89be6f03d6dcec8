# Writes INPUT (a JSON profile) into OUTPUT as a C++ raw string. Run with cmake -P.
file(READ ${INPUT} content)
string(FIND "${content}" ")husk_profile\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${INPUT} contains the raw-string delimiter")
endif()
file(WRITE ${OUTPUT} "// Generated from ${INPUT} by profiles/embed.cmake: do not edit.
#include <string>

#include \"oci/seccomp.hpp\"

namespace husk::oci {

const std::string& default_seccomp_profile_json() {
    static const std::string profile = R\"husk_profile(${content})husk_profile\";
    return profile;
}

}  // namespace husk::oci
")
