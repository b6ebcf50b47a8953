#include "core/errors.h"
#include "core/host_memory.h"

#include <c10/util/Exception.h>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <new>

namespace tutorial {
namespace {

// What a user can fix by asking for less: LibTorch's allocators say so in a
// c10::Error ("DefaultCPUAllocator: can't allocate memory: you tried to
// allocate ... bytes", "CUDA out of memory. Tried to allocate ...").
bool is_out_of_memory(const std::string& message) {
  for (const char* phrase : {"can't allocate memory", "not enough memory", "out of memory"}) {
    if (message.find(phrase) != std::string::npos) return true;
  }
  return false;
}

std::string out_of_memory_line(const std::string& detail) {
  // "[enforce fail at alloc_cpu.cpp:75] err == 0. DefaultCPUAllocator: ..." -> "DefaultCPUAllocator: ..."
  const auto allocator = detail.find("Allocator: ");
  const auto from = allocator == std::string::npos ? 0 : detail.rfind(' ', allocator) + 1;
  return "out of memory: " + detail.substr(from) +
         "; a smaller --batch-size or model, or fewer ranks on this machine, needs less";
}

}  // namespace

std::string first_line(const std::string& text) {
  const auto end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

// Every exception a user can cause is a UserError, or one of the kinds below
// that only users cause (memory, files); "internal error" is left for bugs.
int run_main(const std::string& program_name, const std::function<int()>& body) {
  keep_freed_host_memory_for_reuse();
  // Past a file size limit (ulimit -f) a write then fails with EFBIG, which
  // the writer reports in one line, instead of SIGXFSZ killing the process.
  std::signal(SIGXFSZ, SIG_IGN);
  // The line goes out in one write: stage 4's parent relays its workers'
  // lines, and a worker stopped mid-line would leave half of one.
  const auto print_line = [&](const std::string& kind, const std::string& message) {
    std::cerr << (program_name + ": " + kind + ": " + message + "\n") << std::flush;
  };
  const auto user_error = [&](const std::string& message) {
    print_line("error", message);
    return kUserErrorExitCode;
  };
  try {
    return body();
  } catch (const UserError& e) {
    return user_error(e.what());
  } catch (const std::bad_alloc& e) {
    return user_error(out_of_memory_line(e.what()));
  } catch (const std::filesystem::filesystem_error& e) {
    // A path the user gave that this user may not look into, say.
    return user_error(e.path1().string() + ": " + e.code().message());
  } catch (const c10::Error& e) {
    const std::string line = first_line(e.what_without_backtrace());
    if (is_out_of_memory(line)) return user_error(out_of_memory_line(line));
    print_line("internal error", line);
    return kInternalErrorExitCode;
  } catch (const std::exception& e) {
    print_line("internal error", first_line(e.what()));
    return kInternalErrorExitCode;
  }
}

}  // namespace tutorial
