#include "base/result.h"

#include <cerrno>
#include <cstring>

namespace nimbus {

SysError sys_error(std::string what) {
  int e = errno;
  return SysError{what + ": " + std::strerror(e), e};
}

}  // namespace nimbus
