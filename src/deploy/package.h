// Function code packages for `nimbus deploy`: a folder, a .zip file or
// InlineCode turned into the zip bytes that Lambda's CreateFunction /
// UpdateFunctionCode take as ZipFile.
//
// Zips are deterministic: entries sorted by path, a fixed timestamp, modes
// kept only as "executable or not", so an unchanged folder always gives the
// same bytes (and the same CodeSha256) and a redeploy can skip it.
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "deploy/sam.h"

namespace nimbus::deploy {

struct ZipEntry {
  std::string name;  // relative path inside the zip, '/'-separated
  std::string data;
  bool executable = false;
};

// Zips the entries (sorted by name; fixed mtime 1980-01-01; deflate).
Result<std::string, std::string> make_zip(std::vector<ZipEntry> entries);

// Every regular file below `dir` (symlinks followed; ".git", "__pycache__" and
// ".aws-sam" folders left out).
Result<std::vector<ZipEntry>, std::string> folder_entries(const std::string& dir);

// The handler file InlineCode is written to: index.py, index.js (index.mjs is
// not chosen; SAM writes index.js for every nodejs runtime), "index" otherwise.
std::string inline_code_file(const std::string& runtime);

// The function's package: InlineCode → a zip with the inline file; CodeUri a
// .zip file → its bytes; CodeUri a folder (or absent: the template's folder) →
// the folder zipped. Relative paths are relative to `template_dir`.
Result<std::string, std::string> package_function(const sam::Function& f,
                                                  const std::string& template_dir);

// A layer's package: ContentUri a folder → zipped (deterministically, so an
// unchanged folder publishes no new version), a .zip file → its bytes.
Result<std::string, std::string> package_layer(const sam::LayerVersion& l,
                                               const std::string& template_dir);

// The folder a function's code comes from ("" for InlineCode or a .zip file).
std::string code_folder(const sam::Function& f, const std::string& template_dir);

}  // namespace nimbus::deploy
