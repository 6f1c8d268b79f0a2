#include "sandbox/sandbox.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "sandbox/cgroup.h"

namespace nimbus::sandbox {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

// ctest runs every test in its own process, in parallel, and each process
// removes its parent group when done: a shared parent could vanish between
// another process's mkdir of the parent and of its instance group (ENOENT).
const std::string& cgroup_parent() {
  static const std::string parent = "nimbus-test-" + std::to_string(::getpid());
  return parent;
}

#define REQUIRE_ISOLATION()                                                           \
  do {                                                                                \
    std::string why;                                                                  \
    if (!isolation_available(&why)) GTEST_SKIP() << "isolation unavailable: " << why; \
  } while (0)

// A host directory, removed with its contents.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "nimbus-sbx-XXXXXX").string();
    path_ = ::mkdtemp(tmpl.data());
    ::chmod(path_.c_str(), 0755);  // world-readable: only the sandbox may hide it
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content, mode_t mode = 0644) {
    std::string p = path_ + "/" + name;
    std::ofstream(p) << content;
    ::chmod(p.c_str(), mode);
    return p;
  }

 private:
  std::string path_;
};

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

uid_t next_uid() {
  static std::atomic<int> n{0};
  return static_cast<uid_t>(20000 + (::getpid() % 1000) * 10 + (n++ % 10));
}

Spec base_spec(const std::string& code_dir, std::vector<std::string> argv) {
  Spec s;
  s.argv = std::move(argv);
  s.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "NIMBUS_TEST=1"};
  s.code_dir = code_dir;
  s.uid = s.gid = next_uid();
  s.memory_limit_bytes = 256ull << 20;
  s.cpu_cores = 1.0;
  s.tmp_size_bytes = 16ull << 20;
  s.pids_max = 64;
  s.hostname = "nimbus-test";
  s.cgroup_parent = cgroup_parent();
  return s;
}

Spec sh(const std::string& code_dir, const std::string& script) {
  return base_spec(code_dir, {"/bin/sh", "-c", script});
}

struct Outcome {
  int status = -1;
  std::string out, err;
  bool oom = false;
  uint64_t peak = 0;
};

class Pipe {
 public:
  Pipe() {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) == 0) {
      r.reset(fds[0]);
      w.reset(fds[1]);
    }
  }
  UniqueFd r, w;
};

// Runs until exit (or the deadline, which fails the test), collecting output.
// Waits on the pidfd and the pipes with poll(): no sleeps.
// `spawned` runs once spawn() returned.
Outcome run(Spec spec, std::chrono::milliseconds timeout = 30s,
            const std::function<void(Instance&)>& spawned = {}) {
  Outcome o;
  Pipe out, err;
  spec.stdout_fd = out.w.get();
  spec.stderr_fd = err.w.get();
  auto inst = spawn(spec);
  if (!inst) {
    ADD_FAILURE() << "spawn: " << inst.error().message;
    return o;
  }
  if (spawned) spawned(**inst);
  out.w.reset();
  err.w.reset();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool out_open = true, err_open = true, exited = false;
  while (out_open || err_open || !exited) {
    pollfd p[3] = {{out_open ? out.r.get() : -1, POLLIN, 0},
                   {err_open ? err.r.get() : -1, POLLIN, 0},
                   {exited ? -1 : (*inst)->pidfd(), POLLIN, 0}};
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      ADD_FAILURE() << "instance did not finish within " << timeout.count() << " ms";
      (*inst)->kill();
      break;
    }
    if (::poll(p, 3, static_cast<int>(left.count())) < 0) continue;
    char buf[4096];
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents) continue;
      ssize_t n = ::read(p[i].fd, buf, sizeof buf);
      if (n > 0) {
        (i == 0 ? o.out : o.err).append(buf, static_cast<size_t>(n));
      } else {
        (i == 0 ? out_open : err_open) = false;
      }
    }
    if (p[2].revents) exited = true;
  }
  if (auto st = (*inst)->wait(10s)) o.status = *st;
  o.oom = (*inst)->oom_killed();
  o.peak = (*inst)->peak_memory_bytes();
  return o;
}

bool exited_ok(int status) {
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

class SandboxTest : public ::testing::Test {
 protected:
  static void TearDownTestSuite() {
    // This process's parent groups (see cgroup_parent()).
    for (const char* ctrl : {"memory", "cpu", "cpuacct", "pids", ""}) {
      std::string dir =
          std::string("/sys/fs/cgroup/") + ctrl + (*ctrl ? "/" : "") + cgroup_parent();
      ::rmdir(dir.c_str());
    }
  }
  TempDir code_;
};

TEST_F(SandboxTest, SeesOnlyItsOwnProcesses) {
  REQUIRE_ISOLATION();
  auto o = run(sh(code_.path(), "echo $$; ls /proc | grep -c '^[0-9]'"));
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  std::istringstream lines(o.out);
  int self = 0, count = 0;
  lines >> self >> count;
  EXPECT_EQ(self, 1);   // the payload is PID 1 of its namespace
  EXPECT_GE(count, 2);  // sh, ls, grep (ls may be gone when grep counts)
  EXPECT_LE(count, 3);
}

TEST_F(SandboxTest, HostFilesAreInvisible) {
  REQUIRE_ISOLATION();
  TempDir other;
  std::string secret = other.write("secret", "top secret\n", 0644);
  auto o = run(sh(code_.path(),
                  "cat " + secret +
                      " && echo LEAK; "
                      "for d in /work /root /home /var/lib /run /sys /mnt /opt /srv /boot " +
                      other.path() + "; do test -e $d && echo visible:$d; done; ls /; ls /var"));
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_THAT(o.out, Not(HasSubstr("LEAK")));
  EXPECT_THAT(o.out, Not(HasSubstr("visible:")));
  std::istringstream names(o.out);
  std::vector<std::string> listed;
  for (std::string n; names >> n;) listed.push_back(n);
  for (const std::string& n : listed) {
    EXPECT_THAT((std::vector<std::string>{"bin", "dev", "etc", "lib", "lib32", "lib64", "proc",
                                          "sbin", "tmp", "usr", "var", "task", "runtime"}),
                ::testing::Contains(n));
  }
}

TEST_F(SandboxTest, FilesystemIsReadOnlyExceptTmp) {
  REQUIRE_ISOLATION();
  code_.write("hello.txt", "hi from code\n");
  ::chmod(code_.path().c_str(), 0777);  // only the read-only mount stops writes
  auto o =
      run(sh(code_.path(),
             "pwd; cat /var/task/hello.txt;"
             "touch /var/task/new 2>/dev/null && echo wrote-task;"
             "echo x > /tmp/x && cat /tmp/x && echo wrote-tmp;"
             "touch /usr/x 2>/dev/null && echo wrote-usr;"
             "touch /etc/x 2>/dev/null && echo wrote-etc;"
             "mkdir /newdir 2>/dev/null && echo wrote-root;"
             "stat -c %a /tmp; echo > /dev/null && echo devnull-ok; head -c 4 /dev/urandom | wc -c;"
             "test -L /dev/fd && echo devfd-ok; test -d /dev/shm && echo shm-ok"));
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_THAT(o.out, HasSubstr("/var/task\nhi from code\n"));
  EXPECT_THAT(o.out, HasSubstr("wrote-tmp"));
  EXPECT_THAT(o.out, HasSubstr("1777"));
  EXPECT_THAT(o.out, HasSubstr("devnull-ok"));
  EXPECT_THAT(o.out, HasSubstr("\n4\n"));
  EXPECT_THAT(o.out, HasSubstr("devfd-ok"));
  EXPECT_THAT(o.out, HasSubstr("shm-ok"));
  for (const char* bad : {"wrote-task", "wrote-usr", "wrote-etc", "wrote-root"}) {
    EXPECT_THAT(o.out, Not(HasSubstr(bad)));
  }
  EXPECT_FALSE(fs::exists(code_.path() + "/new"));
}

TEST_F(SandboxTest, ExtraMountsAndRuntimeDir) {
  REQUIRE_ISOLATION();
  TempDir runtime, layer;
  runtime.write("bootstrap", "#!/bin/sh\necho bootstrap \"$@\" in $(pwd)\n", 0755);
  layer.write("lib.txt", "layer\n");
  Spec s = base_spec(code_.path(), {"/var/runtime/bootstrap", "arg1"});
  s.runtime_dir = runtime.path();
  s.extra_mounts = {{layer.path(), "/opt/layer", true}};
  s.cwd = "/tmp";
  auto o = run(s);
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_EQ(o.out, "bootstrap arg1 in /tmp\n");

  s = sh(code_.path(),
         "cat /opt/layer/lib.txt; touch /opt/layer/x 2>/dev/null && echo wrote; true");
  s.extra_mounts = {{layer.path(), "/opt/layer", true}};
  o = run(s);
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_EQ(o.out, "layer\n");
}

TEST_F(SandboxTest, IdentityCapabilitiesAndSeccomp) {
  REQUIRE_ISOLATION();
  Spec s =
      sh(code_.path(),
         "cat /proc/sys/kernel/hostname; id -u; id -g; id -G;"
         "grep -E '^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):' /proc/self/status;"
         "cat /proc/self/cgroup");
  auto o = run(s);
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  std::string id = std::to_string(s.uid);
  EXPECT_THAT(o.out, HasSubstr("nimbus-test\n" + id + "\n" + id + "\n" + id + "\n"));
  for (const char* cap : {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"}) {
    EXPECT_THAT(o.out, HasSubstr(std::string(cap) + ":\t0000000000000000"));
  }
  EXPECT_THAT(o.out, HasSubstr("NoNewPrivs:\t1"));
  EXPECT_THAT(o.out, HasSubstr("Seccomp:\t2"));
  EXPECT_THAT(o.out, Not(HasSubstr("/" + cgroup_parent())));  // cgroup namespace
}

TEST_F(SandboxTest, SeccompBlocksNamespacesAndMounts) {
  REQUIRE_ISOLATION();
  auto o = run(sh(code_.path(),
                  "unshare -U true 2>/dev/null; echo unshare=$?;"
                  "mount -t tmpfs x /tmp 2>/dev/null; echo mount=$?"));
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_THAT(o.out, Not(HasSubstr("unshare=0")));
  EXPECT_THAT(o.out, Not(HasSubstr("mount=0")));
  if (::access("/usr/bin/python3", X_OK) == 0) {
    // Unprivileged user namespaces would otherwise be allowed: EPERM here is
    // the filter. clone3 says ENOSYS so that libc falls back to clone.
    auto p = run(base_spec(
        code_.path(), {"/usr/bin/python3", "-c",
                       "import ctypes, os\n"
                       "libc = ctypes.CDLL(None, use_errno=True)\n"
                       "def err(rc): return 0 if rc == 0 else ctypes.get_errno()\n"
                       "print('unshare', err(libc.unshare(0x10000000)))\n"
                       "print('mount', err(libc.mount(b'x', b'/tmp', b'tmpfs', 0, None)))\n"
                       "print('clone3', err(libc.syscall(435, 0, 0)))\n"
                       "print('clone_newns', err(libc.syscall(56, 0x00020000 | 17, 0, 0, 0, 0)))\n"
                       "print('fork', 'ok' if os.fork() == 0 or os.wait() else '')\n"}));
    ASSERT_TRUE(exited_ok(p.status)) << p.err;
    EXPECT_THAT(p.out, HasSubstr("unshare 1\n"));
    EXPECT_THAT(p.out, HasSubstr("mount 1\n"));
    EXPECT_THAT(p.out, HasSubstr("clone3 38\n"));
    EXPECT_THAT(p.out, HasSubstr("clone_newns 1\n"));
    EXPECT_THAT(p.out, HasSubstr("fork ok"));
  }
}

TEST_F(SandboxTest, HostAbstractUnixSocketsAreUnreachable) {
  REQUIRE_ISOLATION();
  if (::syscall(SYS_landlock_create_ruleset, nullptr, 0, 1u) < 6) {
    GTEST_SKIP() << "kernel without Landlock scoping (ABI 6, Linux 6.12)";
  }
  if (::access("/usr/bin/python3", X_OK) != 0) GTEST_SKIP() << "needs /usr/bin/python3";
  UniqueFd listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_TRUE(listener.valid());
  std::string name = "nimbus-sbx-test-" + std::to_string(::getpid());
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, name.data(), name.size());  // sun_path[0] == 0: abstract
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  ASSERT_EQ(::bind(listener.get(), reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(listener.get(), 4), 0);
  auto o = run(base_spec(code_.path(), {"/usr/bin/python3", "-c",
                                        "import socket\n"
                                        "s = socket.socket(socket.AF_UNIX)\n"
                                        "try:\n"
                                        "  s.connect('\\0" +
                                            name +
                                            "'); print('connected')\n"
                                            "except OSError as e: print('errno', e.errno)\n"}));
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_EQ(o.out, "errno 1\n");  // EPERM from Landlock
}

TEST_F(SandboxTest, SpawningLeaksNoFds) {
  REQUIRE_ISOLATION();
  auto count_fds = [] { return std::distance(fs::directory_iterator("/proc/self/fd"), {}); };
  { auto warm = run(sh(code_.path(), "true")); }  // one-time state (seccomp, landlock fds)
  auto before = count_fds();
  for (int i = 0; i < 5; ++i) {
    auto o = run(sh(code_.path(), "true"));
    ASSERT_TRUE(exited_ok(o.status));
  }
  auto inst = spawn(base_spec(code_.path(), {"/var/task/missing"}));
  ASSERT_FALSE(inst);
  EXPECT_EQ(count_fds(), before);
}

TEST_F(SandboxTest, EnvironmentAndStdioAreExactlyTheSpecs) {
  REQUIRE_ISOLATION();
  int leaked = ::open("/dev/null", O_RDONLY);  // no O_CLOEXEC: must still not leak
  ASSERT_GE(leaked, 0);
  Spec s = sh(code_.path(),
              "env | sort; echo to-stderr >&2; ls /proc/self/fd | tr '\\n' ' '; "
              "read x; echo stdin=$?");
  auto o = run(s);
  ::close(leaked);
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  // dash adds PWD; nothing of Nimbus's environment gets in.
  EXPECT_THAT(
      o.out,
      HasSubstr("HOME=/tmp\nNIMBUS_TEST=1\nPATH=/usr/local/bin:/usr/bin:/bin\nPWD=/var/task\n"));
  EXPECT_THAT(o.out, HasSubstr("\n0 1 2 3 stdin="));  // 3: ls's own directory
  EXPECT_THAT(o.out, HasSubstr("stdin=1"));           // /dev/null: EOF
  EXPECT_EQ(o.err, "to-stderr\n");
}

// The runtime channel's two pipes arrive as fds 3 (read) and 4 (write), and
// nothing else does.
TEST_F(SandboxTest, RuntimeChannelBecomesFds3And4) {
  REQUIRE_ISOLATION();
  Pipe events, results;
  ASSERT_EQ(::write(events.w.get(), "ping\n", 5), 5);
  Spec s =
      sh(code_.path(), "read line <&3; echo \"got $line\" >&4; ls /proc/self/fd | tr '\\n' ' '");
  s.channel_fds = {events.r.get(), results.w.get()};
  auto o = run(s);
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_EQ(o.out, "0 1 2 3 4 5 ");  // 5: ls's own directory
  results.w.reset();
  char buf[64] = {};
  ASSERT_GT(::read(results.r.get(), buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "got ping\n");
}

bool has_exited(const Instance& inst) {
  pollfd p{inst.pidfd(), POLLIN, 0};
  return ::poll(&p, 1, 0) == 1;
}

// Writes `message` to the handover pipe and closes it.
void hand_over(Pipe& handover, const std::string& message) {
  EXPECT_EQ(::write(handover.w.get(), message.data(), message.size()),
            static_cast<ssize_t>(message.size()));
  handover.w.reset();
}

// A prepared instance held before exec: spawn() returns while it waits in its
// sandbox; it execs only with the environment handed over on fd 5, which is
// closed by then.
TEST_F(SandboxTest, HeldInstanceExecsWithTheHandedOverEnvironment) {
  REQUIRE_ISOLATION();
  Pipe handover;
  Spec s = sh(code_.path(), "env | sort; ls /proc/self/fd | tr '\\n' ' '");
  s.env = {"NOT_HANDED_OVER=1"};
  s.handover_fd = handover.r.get();
  s.exec_on_handover = true;
  auto o = run(s, 30s, [&](Instance& inst) {
    handover.r.reset();
    EXPECT_FALSE(has_exited(inst));
    hand_over(handover, encode_handover(std::vector<std::string>{"GREETING=handed over",
                                                                 "PATH=/usr/bin:/bin"}));
  });
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_THAT(o.out, HasSubstr("GREETING=handed over\nPATH=/usr/bin:/bin\nPWD=/var/task\n"));
  EXPECT_THAT(o.out, Not(HasSubstr("NOT_HANDED_OVER")));
  EXPECT_THAT(o.out, HasSubstr("\n0 1 2 3 "));  // 3: ls's own directory; 5 is closed
}

// Discarded before its handover (the pipe closed without a message), a held
// instance exits without running the program at all.
TEST_F(SandboxTest, HeldInstanceWithoutHandoverNeverExecs) {
  REQUIRE_ISOLATION();
  Pipe handover;
  Spec s = sh(code_.path(), "echo ran");
  s.handover_fd = handover.r.get();
  s.exec_on_handover = true;
  auto o = run(s, 30s, [&](Instance&) {
    handover.r.reset();
    hand_over(handover, std::string("A=1\0", 4));  // no final empty entry
  });
  EXPECT_TRUE(exited_ok(o.status));
  EXPECT_EQ(o.out, "");
}

// Without exec_on_handover the runtime is exec'd at once and reads fd 5 itself
// (the Node runtime's prepared mode).
TEST_F(SandboxTest, HandoverPipeBecomesFd5) {
  REQUIRE_ISOLATION();
  Pipe handover;
  Spec s = sh(code_.path(), "tr '\\000' , <&5; echo; ls /proc/self/fd | tr '\\n' ' '");
  s.handover_fd = handover.r.get();
  auto o = run(s, 30s, [&](Instance&) {
    handover.r.reset();
    hand_over(handover, encode_handover(std::vector<std::string>{"A=1", "B=2"}));
  });
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_EQ(o.out, "A=1,B=2,,\n0 1 2 3 5 ");  // 3: ls's own directory
}

// An instance started without code gets its function's code later: a
// read-only /var/task and a /tmp of the function's size, seen at once.
TEST_F(SandboxTest, MountsAddedToARunningInstance) {
  REQUIRE_ISOLATION();
  TempDir code;
  code.write("hello.txt", "from the function\n");
  Pipe go, unused;
  Spec s = sh("",
              "read line <&3; cat /var/task/hello.txt; touch /var/task/x 2>/dev/null || echo ro; "
              "df -k /tmp | tail -1 | awk '{print $2}'");
  s.channel_fds = {go.r.get(), unused.w.get()};
  auto o = run(s, 30s, [&](Instance& inst) {
    BindMount code_mount{code.path(), "/var/task", true};
    auto added = inst.add_mounts({&code_mount, 1}, 8ull << 20);
    EXPECT_TRUE(added) << added.error().message;
    EXPECT_EQ(::write(go.w.get(), "go\n", 3), 3);
  });
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_EQ(o.out, "from the function\nro\n8192\n");
}

TEST_F(SandboxTest, ExitStatusPassesThrough) {
  REQUIRE_ISOLATION();
  auto o = run(sh(code_.path(), "exit 7"));
  ASSERT_TRUE(WIFEXITED(o.status));
  EXPECT_EQ(WEXITSTATUS(o.status), 7);
}

TEST_F(SandboxTest, MemoryHogIsOomKilled) {
  REQUIRE_ISOLATION();
  Spec s = ::access("/usr/bin/python3", X_OK) == 0
               ? base_spec(code_.path(), {"/usr/bin/python3", "-c", "b = b'x' * (200 << 20)"})
               : sh(code_.path(), "x=xxxxxxxx; while :; do x=$x$x; done");
  s.memory_limit_bytes = 32ull << 20;
  auto o = run(s);
  ASSERT_TRUE(WIFSIGNALED(o.status)) << "status " << o.status << " " << o.err;
  EXPECT_EQ(WTERMSIG(o.status), SIGKILL);
  EXPECT_TRUE(o.oom);
  EXPECT_GT(o.peak, 16ull << 20);
  EXPECT_LE(o.peak, 33ull << 20);
}

TEST_F(SandboxTest, SmallProgramIsNotOomKilled) {
  REQUIRE_ISOLATION();
  auto o = run(sh(code_.path(), "true"));
  ASSERT_TRUE(exited_ok(o.status));
  EXPECT_FALSE(o.oom);
  EXPECT_GT(o.peak, 0u);
}

// Polls a condition until a deadline: for states the kernel reaches on its own
// schedule (no event to wait on), never a fixed sleep.
template <class F>
bool eventually(F&& f, std::chrono::milliseconds timeout = 20s) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    ::poll(nullptr, 0, 5);
  }
  return f();
}

std::string dir_with(const std::vector<std::string>& dirs, const std::string& file) {
  for (const auto& d : dirs) {
    if (fs::exists(d + "/" + file)) return d;
  }
  return "";
}

TEST_F(SandboxTest, ForkBombIsBoundedByPidsMax) {
  REQUIRE_ISOLATION();
  Spec s = sh(code_.path(), "f() { f | f & }; f; sleep 1000");
  s.pids_max = 32;
  s.cpu_cores = 0.5;
  s.memory_limit_bytes = 64ull << 20;
  auto inst = spawn(s);
  ASSERT_TRUE(inst) << inst.error().message;
  std::string pids = dir_with((*inst)->cgroup_dirs(), "pids.max");
  ASSERT_FALSE(pids.empty());
  EXPECT_EQ(slurp(pids + "/pids.max"), "32\n");
  // The limit gets hit (or the bomb's PID 1 gives up and takes it all down).
  bool hit = eventually([&] {
    std::string events = slurp(pids + "/pids.events");
    return events.find("max 0") == std::string::npos || (*inst)->try_reap().has_value();
  });
  EXPECT_TRUE(hit);
  EXPECT_LE(std::stoi(slurp(pids + "/pids.current")), 32);
  (*inst)->kill();
  auto status = (*inst)->wait(20s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(std::stoi(slurp(pids + "/pids.current")), 0);
  auto dirs = (*inst)->cgroup_dirs();
  inst->reset();
  for (const auto& d : dirs) EXPECT_FALSE(fs::exists(d)) << d;
}

TEST_F(SandboxTest, KillKillsEveryProcess) {
  REQUIRE_ISOLATION();
  Pipe out;
  Spec s = sh(code_.path(), "sleep 1000 & sleep 1000 & echo started; wait");
  s.stdout_fd = out.w.get();
  auto inst = spawn(s);
  ASSERT_TRUE(inst) << inst.error().message;
  out.w.reset();
  char buf[16] = {};
  pollfd p{out.r.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  ASSERT_GT(::read(out.r.get(), buf, sizeof buf - 1), 0);
  EXPECT_STREQ(buf, "started\n");
  std::string procs = dir_with((*inst)->cgroup_dirs(), "pids.max") + "/cgroup.procs";
  auto count = [&] {
    std::istringstream in(slurp(procs));
    return std::distance(std::istream_iterator<std::string>(in), {});
  };
  EXPECT_EQ(count(), 3);
  (*inst)->kill();
  auto status = (*inst)->wait(10s);
  ASSERT_TRUE(status.has_value());
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGKILL);
  EXPECT_EQ(count(), 0);
}

TEST_F(SandboxTest, DestructorKillsAndRemovesCgroup) {
  REQUIRE_ISOLATION();
  auto inst = spawn(sh(code_.path(), "sleep 1000"));
  ASSERT_TRUE(inst) << inst.error().message;
  auto dirs = (*inst)->cgroup_dirs();
  ASSERT_FALSE(dirs.empty());
  pid_t pid = (*inst)->pid();
  for (const auto& d : dirs) EXPECT_TRUE(fs::exists(d)) << d;
  inst->reset();
  for (const auto& d : dirs) EXPECT_FALSE(fs::exists(d)) << d;
  EXPECT_NE(::kill(pid, 0), 0);  // reaped: no zombie left
}

TEST_F(SandboxTest, CpuQuotaIsAppliedAndAdjustable) {
  REQUIRE_ISOLATION();
  Spec s = sh(code_.path(), "sleep 1000");
  s.cpu_cores = 0.25;
  auto inst = spawn(s);
  ASSERT_TRUE(inst) << inst.error().message;
  auto dirs = (*inst)->cgroup_dirs();
  if (std::string d = dir_with(dirs, "cpu.cfs_quota_us"); !d.empty()) {
    EXPECT_EQ(slurp(d + "/cpu.cfs_quota_us"), "25000\n");
    ASSERT_TRUE((*inst)->set_cpu_cores(2.0));
    EXPECT_EQ(slurp(d + "/cpu.cfs_quota_us"), "200000\n");
  } else {
    std::string v2 = dir_with(dirs, "cpu.max");
    EXPECT_EQ(slurp(v2 + "/cpu.max"), "25000 100000\n");
  }
}

TEST_F(SandboxTest, MissingBinaryIsAClearError) {
  REQUIRE_ISOLATION();
  auto inst = spawn(base_spec(code_.path(), {"/var/runtime/bootstrap"}));
  ASSERT_FALSE(inst);
  EXPECT_EQ(inst.error().err, ENOENT);
  EXPECT_THAT(inst.error().message, HasSubstr("exec /var/runtime/bootstrap"));

  code_.write("not-executable", "#!/bin/sh\n", 0644);
  inst = spawn(base_spec(code_.path(), {"/var/task/not-executable"}));
  ASSERT_FALSE(inst) << "ran, exit status " << (*inst)->wait(5s).value_or(-1);
  EXPECT_EQ(inst.error().err, EACCES);
}

TEST_F(SandboxTest, BadSpecsAreRejected) {
  REQUIRE_ISOLATION();
  Spec s = base_spec(code_.path(), {"/bin/true"});
  s.uid = 0;
  EXPECT_FALSE(spawn(s));
  s = base_spec(code_.path() + "/missing", {"/bin/true"});
  auto inst = spawn(s);
  ASSERT_FALSE(inst);
  EXPECT_THAT(inst.error().message, HasSubstr(code_.path() + "/missing"));
  s = base_spec(code_.path(), {"bin/true"});
  EXPECT_FALSE(spawn(s));
  s = base_spec(code_.path(), {"/bin/true"});
  s.extra_mounts = {{code_.path(), "/opt/../etc", true}};
  EXPECT_FALSE(spawn(s));
  s = base_spec(code_.path(), {"/bin/true"});
  s.cwd = "/nonexistent";
  inst = spawn(s);
  ASSERT_FALSE(inst);
  EXPECT_THAT(inst.error().message, HasSubstr("chdir /nonexistent"));
}

TEST_F(SandboxTest, ConcurrentSpawnsFromThreads) {
  REQUIRE_ISOLATION();
  constexpr int kThreads = 4, kEach = 10;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        auto inst = spawn(sh(code_.path(), "exit 3"));
        if (!inst) continue;
        auto st = (*inst)->wait(20s);
        if (st && WIFEXITED(*st) && WEXITSTATUS(*st) == 3) ++ok;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kEach);
}

// Isolation off: runs anywhere, root or not.
TEST(SandboxOffTest, PlainChildWithTranslatedPaths) {
  TempDir code, runtime;
  runtime.write("bootstrap", "#!/bin/sh\npwd; echo \"$0 $FOO\"; ls /proc/self/fd | tr '\\n' ' '\n",
                0755);
  Spec s;
  s.isolate = false;
  s.argv = {"/var/runtime/bootstrap"};
  s.env = {"FOO=bar", "PATH=/usr/bin:/bin"};
  s.code_dir = code.path();
  s.runtime_dir = runtime.path();
  int leaked = ::open("/dev/null", O_RDONLY);
  auto o = run(s);
  ::close(leaked);
  ASSERT_TRUE(exited_ok(o.status)) << o.err;
  EXPECT_EQ(o.out, code.path() + "\n" + runtime.path() + "/bootstrap bar\n0 1 2 3 ");
}

TEST(SandboxOffTest, KillReachesTheProcessGroup) {
  TempDir code;
  Pipe out;
  Spec s;
  s.isolate = false;
  s.argv = {"/bin/sh", "-c", "sleep 1000 & echo $!; wait"};
  s.code_dir = code.path();
  s.stdout_fd = out.w.get();
  auto inst = spawn(s);
  ASSERT_TRUE(inst) << inst.error().message;
  out.w.reset();
  char buf[32] = {};
  pollfd p{out.r.get(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 10000), 1);
  ASSERT_GT(::read(out.r.get(), buf, sizeof buf - 1), 0);
  pid_t sleeper = std::atoi(buf);
  ASSERT_GT(sleeper, 0);
  (*inst)->kill();
  ASSERT_TRUE((*inst)->wait(10s).has_value());
  // The sleeper was reparented to init (or a subreaper); it must die.
  EXPECT_TRUE(eventually([&] {
    std::string stat = slurp("/proc/" + std::to_string(sleeper) + "/stat");
    return stat.empty() || stat.find(") Z ") != std::string::npos;
  }));
}

TEST(SandboxOffTest, MissingBinaryIsAClearError) {
  TempDir code;
  Spec s;
  s.isolate = false;
  s.argv = {"/var/task/nope"};
  s.code_dir = code.path();
  auto inst = spawn(s);
  ASSERT_FALSE(inst);
  EXPECT_EQ(inst.error().err, ENOENT);
  EXPECT_THAT(inst.error().message, HasSubstr("exec " + code.path() + "/nope"));
}

TEST(HostPathTest, MapsTheLongestCoveringMount) {
  Spec s;
  s.code_dir = "/data/fn/code";
  s.runtime_dir = "/data/rt";
  s.extra_mounts = {{"/data/layer1", "/opt", true}, {"/data/layer2", "/opt/python", true}};
  EXPECT_EQ(host_path(s, "/var/task"), "/data/fn/code");
  EXPECT_EQ(host_path(s, "/var/task/app.py"), "/data/fn/code/app.py");
  EXPECT_EQ(host_path(s, "/var/taskx"), "/var/taskx");
  EXPECT_EQ(host_path(s, "/var/runtime/bootstrap"), "/data/rt/bootstrap");
  EXPECT_EQ(host_path(s, "/opt/bin/x"), "/data/layer1/bin/x");
  EXPECT_EQ(host_path(s, "/opt/python/lib"), "/data/layer2/lib");
  EXPECT_EQ(host_path(s, "/usr/bin/python3"), "/usr/bin/python3");
}

// Spawn-to-exit latency of /bin/true. Opt-in: NIMBUS_SANDBOX_BENCH=1.
TEST_F(SandboxTest, BenchSpawnLatency) {
  if (!std::getenv("NIMBUS_SANDBOX_BENCH")) GTEST_SKIP() << "set NIMBUS_SANDBOX_BENCH=1";
  constexpr int kRuns = 200;
  auto pct = [](std::vector<double> v, double q) {
    std::sort(v.begin(), v.end());
    return v[static_cast<size_t>(q * (v.size() - 1))];
  };
  for (bool isolate : {true, false}) {
    if (isolate && !isolation_available()) continue;
    std::vector<double> total, spawn_ms, prepare, clone_ms, join, mounts, setup, exec;
    for (int i = 0; i < kRuns; ++i) {
      Spec s = base_spec(code_.path(), {"/bin/true"});
      s.isolate = isolate;
      auto t0 = std::chrono::steady_clock::now();
      auto inst = spawn(s);
      ASSERT_TRUE(inst) << inst.error().message;
      auto st = (*inst)->wait(10s);
      auto t1 = std::chrono::steady_clock::now();
      ASSERT_TRUE(st && exited_ok(*st));
      auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
      total.push_back(ms(t1 - t0));
      const SpawnTimings& t = (*inst)->timings();
      spawn_ms.push_back(ms(t.total));
      prepare.push_back(ms(t.prepare));
      clone_ms.push_back(ms(t.clone));
      join.push_back(ms(t.join_cgroup));
      mounts.push_back(ms(t.mounts));
      setup.push_back(ms(t.setup));
      exec.push_back(ms(t.exec));
      inst->reset();  // cgroup removal is part of the steady-state cost, outside the timing
    }
    std::printf(
        "isolate=%d /bin/true spawn->exit p50 %.3f ms p90 %.3f ms | spawn() p50 %.3f: prepare %.3f "
        "clone %.3f join %.3f (p90 %.3f) mounts %.3f (p90 %.3f) setup %.3f exec %.3f\n",
        isolate, pct(total, .5), pct(total, .9), pct(spawn_ms, .5), pct(prepare, .5),
        pct(clone_ms, .5), pct(join, .5), pct(join, .9), pct(mounts, .5), pct(mounts, .9),
        pct(setup, .5), pct(exec, .5));
  }
}

}  // namespace
}  // namespace nimbus::sandbox
