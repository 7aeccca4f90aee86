// What every fuzz target asks of the code under test besides not crashing: bad input ends in the
// reader's own error, one line that starts with the name it was given; a broken promise aborts, so
// libFuzzer keeps the input.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace genlab::fuzz {

[[noreturn]] inline void broken(const std::string& what) {
  std::fprintf(stderr, "broken promise: %s\n", what.c_str());
  std::abort();
}

inline void check_error(const std::exception& error, const std::string& name) {
  const std::string what = error.what();
  if (what.rfind(name + ": ", 0) != 0 || what.find('\n') != std::string::npos)
    broken("error is not one line starting with '" + name + ": ': " + what);
}

}  // namespace genlab::fuzz
