// Function code packages: zip archives unpacked once per content hash into a
// directory that instances see read-only at /var/task.
#pragma once

#include <cstdint>
#include <span>
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

// Builds what a function sees at /opt: the unpacked layer directories merged
// into `dest_dir` in order, a later layer's file replacing an earlier one's at
// the same path (Lambda extracts layers in order into /opt). Files are hard
// links to the layers' unpacked files where the filesystem allows (copies
// otherwise), so a merged set costs directory entries, not data. Built in a
// temp directory renamed into place; an existing `dest_dir` is kept (the
// name is derived from the layers' content, so it is already right).
Result<void, aws::ApiError> merge_layers(std::span<const std::string> layer_dirs,
                                         const std::string& dest_dir);

}  // namespace nimbus::services::lambda
