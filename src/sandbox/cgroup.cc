#include "sandbox/cgroup.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <csignal>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "base/text.h"

namespace nimbus::sandbox {

namespace {

constexpr std::string_view kCgroupRoot = "/sys/fs/cgroup";
constexpr uint64_t kCpuPeriodUs = 100000;
constexpr uint64_t kMinCpuQuotaUs = 1000;  // the kernel rejects quotas below 1 ms

struct Layout {
  CgroupVersion version = CgroupVersion::kNone;
  std::string why;
  // v1: mount points of the hierarchies carrying each controller (cpu and
  // cpuacct are often co-mounted, so two of these may be equal).
  std::string memory, cpu, cpuacct, pids;
};

Result<std::string> read_file(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(sys_error("open " + path));
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail(sys_error("read " + path));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

Status write_file(const std::string& path, std::string_view value) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd.valid()) return fail(sys_error("open " + path));
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return fail(sys_error("write '" + std::string(value) + "' to " + path));
  return {};
}

bool exists(const std::string& path) {
  return ::access(path.c_str(), F_OK) == 0;
}

// The value after `key` in "key value" lines (memory.events, memory.oom_control, cpu.stat).
std::optional<uint64_t> keyed_value(std::string_view text, std::string_view key) {
  for (std::string_view line : split(text, '\n')) {
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
      return std::strtoull(std::string(line.substr(key.size() + 1)).c_str(), nullptr, 10);
    }
  }
  return std::nullopt;
}

uint64_t read_u64(const std::string& path) {
  auto text = read_file(path);
  return text ? std::strtoull(text->c_str(), nullptr, 10) : 0;
}

Layout detect() {
  Layout l;
  if (exists(std::string(kCgroupRoot) + "/cgroup.controllers")) {
    auto text = read_file(std::string(kCgroupRoot) + "/cgroup.controllers");
    if (!text) {
      l.why = text.error().message;
      return l;
    }
    std::string_view t = *text;
    while (!t.empty() && t.back() == '\n') t.remove_suffix(1);
    auto have = split(t, ' ');
    for (std::string_view c : {"memory", "cpu", "pids"}) {
      if (std::find(have.begin(), have.end(), c) == have.end()) {
        l.why = "cgroup v2 controller '" + std::string(c) + "' is not available";
        return l;
      }
    }
    l.version = CgroupVersion::kV2;
    return l;
  }
  // v1: find each controller's hierarchy in mountinfo rather than assuming
  // /sys/fs/cgroup/<name>, because distributions co-mount (cpu,cpuacct).
  auto mountinfo = read_file("/proc/self/mountinfo");
  if (!mountinfo) {
    l.why = mountinfo.error().message;
    return l;
  }
  for (std::string_view line : split(*mountinfo, '\n')) {
    size_t dash = line.find(" - ");
    if (dash == std::string_view::npos) continue;
    auto pre = split(line.substr(0, dash), ' ');
    auto post = split(line.substr(dash + 3), ' ');
    if (pre.size() < 5 || post.size() < 3 || post[0] != "cgroup") continue;
    // Only the hierarchy's root, not bind mounts of sub-groups (containers).
    if (pre[3] != "/") continue;
    for (std::string_view opt : split(post[2], ',')) {
      std::string mount_point(pre[4]);
      if (opt == "memory") l.memory = mount_point;
      if (opt == "cpu") l.cpu = mount_point;
      if (opt == "cpuacct") l.cpuacct = mount_point;
      if (opt == "pids") l.pids = mount_point;
    }
  }
  if (l.memory.empty() || l.cpu.empty() || l.pids.empty()) {
    l.why =
        "no cgroup v2 (/sys/fs/cgroup/cgroup.controllers) and cgroup v1 lacks one of the "
        "memory, cpu, pids hierarchies";
    return l;
  }
  l.version = CgroupVersion::kV1;
  return l;
}

const Layout& layout() {
  static const Layout l = detect();
  return l;
}

Status make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0 || errno == EEXIST) return {};
  return fail(sys_error("mkdir " + path));
}

// v2 only lets a group hand controllers to its children when its parent has
// enabled them too; do it once per parent directory per process.
Status enable_v2_controllers(const std::string& parent_dir) {
  static std::mutex mu;
  static std::set<std::string> done;
  std::lock_guard lk(mu);
  if (done.count(parent_dir)) return {};
  for (const std::string& dir : {std::string(kCgroupRoot), parent_dir}) {
    for (std::string_view c : {"+memory", "+cpu", "+pids"}) {
      if (auto st = write_file(dir + "/cgroup.subtree_control", c); !st) return st;
    }
  }
  done.insert(parent_dir);
  return {};
}

uint64_t cpu_quota_us(double cores) {
  return std::max<uint64_t>(kMinCpuQuotaUs,
                            static_cast<uint64_t>(std::llround(cores * kCpuPeriodUs)));
}

}  // namespace

CgroupVersion cgroup_version(std::string* why) {
  const Layout& l = layout();
  if (why) *why = l.why;
  return l.version;
}

Result<std::unique_ptr<Cgroup>> Cgroup::create(std::string_view parent, std::string_view name,
                                               const CgroupLimits& limits) {
  const Layout& l = layout();
  if (l.version == CgroupVersion::kNone) return fail(SysError{"cgroups unavailable: " + l.why, 0});
  if (name.empty() || name.find('/') != std::string_view::npos || name == "." || name == "..") {
    return fail(SysError{"invalid cgroup name '" + std::string(name) + "'", EINVAL});
  }
  auto cg = std::make_unique<Cgroup>(Key());
  cg->version_ = l.version;
  const std::string suffix = "/" + std::string(parent) + "/" + std::string(name);

  auto add_dir = [&](const std::string& hierarchy) -> Result<std::string> {
    std::string dir = hierarchy + suffix;
    if (std::find(cg->dirs_.begin(), cg->dirs_.end(), dir) != cg->dirs_.end()) return dir;
    if (auto st = make_dir(hierarchy + "/" + std::string(parent)); !st)
      return fail(st.take_error());
    if (::mkdir(dir.c_str(), 0755) != 0) {
      // A leftover from a crashed run holds no processes; reuse would carry
      // stale accounting, so replace it.
      if (errno != EEXIST || ::rmdir(dir.c_str()) != 0 || ::mkdir(dir.c_str(), 0755) != 0) {
        return fail(sys_error("mkdir " + dir));
      }
    }
    cg->dirs_.push_back(dir);
    return dir;
  };

  if (l.version == CgroupVersion::kV2) {
    std::string parent_dir = std::string(kCgroupRoot) + "/" + std::string(parent);
    if (auto st = make_dir(parent_dir); !st) return fail(st.take_error());
    if (auto st = enable_v2_controllers(parent_dir); !st) return fail(st.take_error());
    auto dir = add_dir(std::string(kCgroupRoot));
    if (!dir) return fail(dir.take_error());
    cg->memory_dir_ = cg->cpu_dir_ = cg->cpuacct_dir_ = *dir;
    const std::string& d = *dir;
    if (limits.memory_bytes) {
      if (auto st = write_file(d + "/memory.max", std::to_string(limits.memory_bytes)); !st) {
        return fail(st.take_error());
      }
      (void)write_file(d + "/memory.swap.max", "0");  // absent without swap accounting
    }
    // One OOM kill takes the whole instance down, like v1's PID-1 teardown.
    (void)write_file(d + "/memory.oom.group", "1");
    if (limits.cpu_cores > 0) {
      if (auto st = cg->set_cpu_cores(limits.cpu_cores); !st) return fail(st.take_error());
    }
    if (limits.pids_max > 0) {
      if (auto st = write_file(d + "/pids.max", std::to_string(limits.pids_max)); !st) {
        return fail(st.take_error());
      }
    }
  } else {
    auto mem = add_dir(l.memory);
    if (!mem) return fail(mem.take_error());
    auto cpu = add_dir(l.cpu);
    if (!cpu) return fail(cpu.take_error());
    auto pids = add_dir(l.pids);
    if (!pids) return fail(pids.take_error());
    cg->memory_dir_ = *mem;
    cg->cpu_dir_ = *cpu;
    if (!l.cpuacct.empty()) {
      auto acct = add_dir(l.cpuacct);
      if (!acct) return fail(acct.take_error());
      cg->cpuacct_dir_ = *acct;
    }
    if (limits.memory_bytes) {
      std::string v = std::to_string(limits.memory_bytes);
      if (auto st = write_file(*mem + "/memory.limit_in_bytes", v); !st)
        return fail(st.take_error());
      // memsw (memory+swap) must be >= the memory limit, so it is set second;
      // it and swappiness are absent when swap accounting is off.
      (void)write_file(*mem + "/memory.memsw.limit_in_bytes", v);
      (void)write_file(*mem + "/memory.swappiness", "0");
    }
    if (limits.cpu_cores > 0) {
      if (auto st = write_file(*cpu + "/cpu.cfs_period_us", std::to_string(kCpuPeriodUs)); !st) {
        return fail(st.take_error());
      }
      if (auto st = cg->set_cpu_cores(limits.cpu_cores); !st) return fail(st.take_error());
    }
    if (limits.pids_max > 0) {
      if (auto st = write_file(*pids + "/pids.max", std::to_string(limits.pids_max)); !st) {
        return fail(st.take_error());
      }
    }
  }

  for (const std::string& dir : cg->dirs_) {
    std::string procs = dir + "/cgroup.procs";
    UniqueFd fd(::open(procs.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd.valid()) return fail(sys_error("open " + procs));
    cg->join_fds_.push_back(std::move(fd));
  }
  return cg;
}

Cgroup::~Cgroup() {
  (void)remove();
}

std::vector<int> Cgroup::join_fds() const {
  std::vector<int> out;
  for (const UniqueFd& fd : join_fds_) out.push_back(fd.get());
  return out;
}

Status Cgroup::set_cpu_cores(double cores) {
  if (version_ == CgroupVersion::kV2) {
    std::string v = cores > 0 ? std::to_string(cpu_quota_us(cores)) : std::string("max");
    return write_file(cpu_dir_ + "/cpu.max", v + " " + std::to_string(kCpuPeriodUs));
  }
  std::string v = cores > 0 ? std::to_string(cpu_quota_us(cores)) : std::string("-1");
  return write_file(cpu_dir_ + "/cpu.cfs_quota_us", v);
}

Status Cgroup::set_memory_limit(uint64_t bytes) {
  if (version_ == CgroupVersion::kV2)
    return write_file(memory_dir_ + "/memory.max", bytes ? std::to_string(bytes) : "max");
  // memsw (memory+swap, when swap accounting is on) may never be below the
  // memory limit: raise it first, lower it last.
  std::string v = bytes ? std::to_string(bytes) : std::string("-1");
  (void)write_file(memory_dir_ + "/memory.memsw.limit_in_bytes", v);
  auto st = write_file(memory_dir_ + "/memory.limit_in_bytes", v);
  (void)write_file(memory_dir_ + "/memory.memsw.limit_in_bytes", v);
  return st;
}

uint64_t Cgroup::peak_memory_bytes() const {
  // Read after every invocation (REPORT's Max Memory Used): the file stays
  // open, so each read is one pread instead of open + read + read + close.
  if (!peak_fd_.valid()) {
    std::string path = version_ == CgroupVersion::kV1 ? memory_dir_ + "/memory.max_usage_in_bytes"
                       : exists(memory_dir_ + "/memory.peak") ? memory_dir_ + "/memory.peak"
                                                              : memory_dir_ + "/memory.current";
    peak_fd_ = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!peak_fd_.valid()) return 0;
  }
  char buf[32];
  ssize_t n = ::pread(peak_fd_.get(), buf, sizeof buf - 1, 0);
  if (n <= 0) return 0;
  buf[n] = '\0';
  return std::strtoull(buf, nullptr, 10);
}

bool Cgroup::oom_killed() const {
  if (version_ == CgroupVersion::kV2) {
    auto events = read_file(memory_dir_ + "/memory.events");
    return events && keyed_value(*events, "oom_kill").value_or(0) > 0;
  }
  auto ctl = read_file(memory_dir_ + "/memory.oom_control");
  if (ctl) {
    if (auto n = keyed_value(*ctl, "oom_kill")) return *n > 0;  // since Linux 4.13
  }
  // Older kernels: hitting the limit is the best available sign.
  return read_u64(memory_dir_ + "/memory.failcnt") > 0;
}

uint64_t Cgroup::cpu_usage_ns() const {
  if (version_ == CgroupVersion::kV2) {
    auto stat = read_file(cpu_dir_ + "/cpu.stat");
    return stat ? keyed_value(*stat, "usage_usec").value_or(0) * 1000 : 0;
  }
  return cpuacct_dir_.empty() ? 0 : read_u64(cpuacct_dir_ + "/cpuacct.usage");
}

std::vector<pid_t> Cgroup::pids() const {
  std::vector<pid_t> out;
  if (dirs_.empty()) return out;
  auto text = read_file(dirs_.front() + "/cgroup.procs");
  if (!text) return out;
  for (std::string_view line : split(*text, '\n')) {
    pid_t pid = 0;
    auto r = std::from_chars(line.data(), line.data() + line.size(), pid);
    if (r.ec == std::errc() && pid > 0) out.push_back(pid);
  }
  return out;
}

void Cgroup::kill_all() {
  if (version_ == CgroupVersion::kV2 && write_file(dirs_.front() + "/cgroup.kill", "1")) return;
  // v1 (and v2 before Linux 5.14): signal what is listed until nothing is.
  // The group's processes are reaped by someone else (their template), so a
  // listed pid may be reused by the time we signal it: take a pidfd first and
  // signal only through pidfds whose pid is still listed afterwards.
  for (int round = 0; round < 64; ++round) {
    auto listed = pids();
    if (listed.empty()) return;
    std::vector<std::pair<pid_t, UniqueFd>> targets;
    for (pid_t pid : listed)
      targets.emplace_back(pid, UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))));
    auto still = pids();
    for (auto& [pid, fd] : targets)
      if (fd.valid() && std::find(still.begin(), still.end(), pid) != still.end())
        ::syscall(SYS_pidfd_send_signal, fd.get(), SIGKILL, nullptr, 0);
  }
}

Status Cgroup::remove() {
  if (removed_) return {};
  join_fds_.clear();
  peak_fd_.reset();
  // Reaped processes leave their group asynchronously (v1 especially), so
  // EBUSY is retried with a growing pause, for about a second in all.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  auto pause = std::chrono::microseconds(50);
  std::vector<std::string> left(dirs_.rbegin(), dirs_.rend());
  for (;;) {
    std::vector<std::string> busy;
    int last_errno = 0;
    for (const std::string& dir : left) {
      if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) continue;
      last_errno = errno;
      busy.push_back(dir);
    }
    if (busy.empty()) {
      removed_ = true;
      return {};
    }
    if (last_errno != EBUSY || std::chrono::steady_clock::now() > deadline) {
      errno = last_errno;
      return fail(sys_error("rmdir " + busy.front()));
    }
    std::this_thread::sleep_for(pause);
    pause = std::min<std::chrono::microseconds>(pause * 2, std::chrono::milliseconds(20));
    left = std::move(busy);
  }
}

}  // namespace nimbus::sandbox
