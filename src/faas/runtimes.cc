#include "faas/runtimes.h"

#include <algorithm>

namespace nimbus::faas {

const std::vector<std::string>& known_runtimes() {
  static const std::vector<std::string> kRuntimes = {"python3.11",     "python3.12", "nodejs18.x",
                                                     "nodejs20.x",     "provided",   "provided.al2",
                                                     "provided.al2023"};
  return kRuntimes;
}

bool is_known_runtime(std::string_view runtime) {
  const auto& r = known_runtimes();
  return std::find(r.begin(), r.end(), runtime) != r.end();
}

std::optional<RuntimeCommand> runtime_command(std::string_view runtime, const RuntimePaths& paths) {
  if (runtime.starts_with("python3."))
    // -S skips site (about half of Python's start-up); the bootstrap adds
    // Debian's dist-packages itself so that boto3 still imports. -B: the code
    // directory is read-only, so never try to write .pyc files.
    return RuntimeCommand{{paths.python, "-S", "-B", "{runtime_dir}/python/bootstrap.py"},
                          "AWS_Lambda_" + std::string(runtime)};
  if (runtime.starts_with("nodejs"))
    return RuntimeCommand{{paths.node, "{runtime_dir}/node/bootstrap.js"},
                          "AWS_Lambda_" + std::string(runtime)};
  if (runtime.starts_with("provided")) return RuntimeCommand{{"{task_root}/bootstrap"}, ""};
  return std::nullopt;
}

}  // namespace nimbus::faas
