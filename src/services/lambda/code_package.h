// Function code packages: zip archives unpacked once per content hash into a
// directory that instances see read-only at /var/task.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "aws/api_error.h"
#include "base/result.h"

namespace nimbus::services::lambda {

struct UnpackLimits {
  uint64_t max_unzipped_bytes = 250ull * 1024 * 1024;  // Lambda's unzipped deployment limit
  uint64_t max_entries = 100000;
};

// Unpacks `zip` into `dest_dir` (created; must not exist yet) through a temp
// directory renamed into place, so a crash never leaves half a package. Entries
// escaping the directory (absolute paths, "..", links pointing out) are
// rejected. Files become world-readable (the sandbox runs as another uid);
// executables keep their execute bits. Errors are Lambda's
// InvalidParameterValueException ("Could not unzip uploaded file...").
Result<void, aws::ApiError> unpack_zip(std::string_view zip, const std::string& dest_dir,
                                       const UnpackLimits& limits = {});

}  // namespace nimbus::services::lambda
