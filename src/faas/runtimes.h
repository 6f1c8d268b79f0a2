// The Lambda runtimes Nimbus knows, and how each is started.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nimbus::faas {

struct RuntimePaths {
  std::string python = "/usr/bin/python3";  // never a version-manager shim
  std::string node = "/usr/bin/node";
};

struct RuntimeCommand {
  // argv with two placeholders the launcher replaces by its view of the paths:
  // {runtime_dir} (our bootstraps) and {task_root} (the function's code).
  std::vector<std::string> argv;
  std::string execution_env;  // AWS_EXECUTION_ENV
};

bool is_known_runtime(std::string_view runtime);
// Runtime identifiers in the order ListFunctions' docs list them (for messages).
const std::vector<std::string>& known_runtimes();
std::optional<RuntimeCommand> runtime_command(std::string_view runtime, const RuntimePaths& paths);

}  // namespace nimbus::faas
