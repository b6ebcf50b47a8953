#include "core/errors.h"
#include "core/host_memory.h"

#include <c10/util/Exception.h>

#include <csignal>
#include <iostream>

namespace tutorial {

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

int run_main(const std::string& program_name, const std::function<int()>& body) {
  keep_freed_host_memory_for_reuse();
  // Past a file size limit (ulimit -f) a write then fails with EFBIG, which
  // the writer reports in one line, instead of SIGXFSZ killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  try {
    return body();
  } catch (const UserError& e) {
    std::cerr << program_name << ": error: " << e.what() << std::endl;
    return kUserErrorExitCode;
  } catch (const c10::Error& e) {
    std::cerr << program_name << ": internal error: " << first_line(e.what_without_backtrace())
              << std::endl;
    return kInternalErrorExitCode;
  } catch (const std::exception& e) {
    std::cerr << program_name << ": internal error: " << first_line(e.what()) << std::endl;
    return kInternalErrorExitCode;
  }
}

}  // namespace tutorial
