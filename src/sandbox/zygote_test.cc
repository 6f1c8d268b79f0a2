#include "sandbox/zygote.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace nimbus::sandbox {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// One cgroup parent per test process (see sandbox_test.cc's cgroup_parent()).
const std::string& cgroup_parent() {
  static const std::string parent = "nimbus-test-zygote-" + std::to_string(::getpid());
  return parent;
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// What an instance forked from the test zygote reports about itself, one
// "key=value" per line, before it exits 0.
[[noreturn]] void report_and_exit(const Spec& spec) {
  std::ostringstream out;
  char host[65] = {};
  ::gethostname(host, 64);
  int procs = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec))
    if (std::isdigit(static_cast<unsigned char>(e.path().filename().string()[0]))) ++procs;
  out << "pid=" << ::getpid() << "\nuid=" << ::getuid() << "\nhost=" << host
      << "\ntask=" << slurp("/var/task/hello.txt")
      << "\nhost_code_visible=" << (::access(spec.code_dir.c_str(), F_OK) == 0)
      << "\nprocs=" << procs << "\nstdin_is_null=" << (::read(0, host, 1) == 0)
      << "\nextra_fds=" << (::fcntl(5, F_GETFD) != -1) << "\nenv0=" << spec.env.at(0) << "\n";
  std::string text = out.str();
  (void)!::write(1, text.data(), text.size());
  ::_exit(0);
}

// A zygote forked from this test process: what nimbus-python-zygote does,
// with report_and_exit() in place of the Python runtime.
std::unique_ptr<Zygote> fork_test_zygote() {
  int sv[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) return nullptr;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sv[0]);
    auto spec = serve_zygote(sv[1], {});
    if (!spec) ::_exit(3);
    if (!*spec) ::_exit(0);
    report_and_exit(**spec);
  }
  ::close(sv[1]);
  auto z = Zygote::adopt(pid, UniqueFd(sv[0]));
  return z ? std::move(*z) : nullptr;
}

class ZygoteTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!isolation_available(&why)) GTEST_SKIP() << "isolation unavailable: " << why;
    std::string tmpl = (fs::temp_directory_path() / "nimbus-zyg-XXXXXX").string();
    code_ = ::mkdtemp(tmpl.data());
    ::chmod(code_.c_str(), 0755);
    std::ofstream(code_ + "/hello.txt") << "from the code dir";
    ::chmod((code_ + "/hello.txt").c_str(), 0644);
    zygote_ = fork_test_zygote();
    ASSERT_NE(zygote_, nullptr);
  }
  void TearDown() override {
    zygote_.reset();
    if (!code_.empty()) fs::remove_all(code_);
  }
  static void TearDownTestSuite() {
    for (const char* ctrl : {"memory", "cpu", "cpuacct", "pids", ""}) {
      std::string dir =
          std::string("/sys/fs/cgroup/") + ctrl + (*ctrl ? "/" : "") + cgroup_parent();
      ::rmdir(dir.c_str());
    }
  }
  Spec spec(uid_t uid) {
    Spec s;
    s.argv = {"/usr/bin/python3", "/var/runtime/python/bootstrap.py"};
    s.env = {"NIMBUS_TEST=" + std::to_string(uid)};
    s.code_dir = code_;
    s.uid = s.gid = uid;
    s.memory_limit_bytes = 64ull << 20;
    s.tmp_size_bytes = 8ull << 20;
    s.pids_max = 16;
    s.hostname = "zygote-test";
    s.cgroup_parent = cgroup_parent();
    return s;
  }
  // Spawns through the zygote, collects stdout until the instance exits.
  std::pair<int, std::string> run(const Spec& base) {
    int fds[2];
    EXPECT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    UniqueFd r(fds[0]), w(fds[1]);
    Spec s = base;
    s.stdout_fd = w.get();
    auto inst = zygote_->spawn(s);
    if (!inst) return {-1, inst.error().message};
    w.reset();
    std::string out;
    char buf[4096];
    for (ssize_t n; (n = ::read(r.get(), buf, sizeof buf)) > 0;) out.append(buf, n);
    auto status = (*inst)->wait(10s);
    return {status ? *status : -2, out};
  }
  std::string code_;
  std::unique_ptr<Zygote> zygote_;
};

// The forked instance gets the same isolation as a spawned one: PID 1 of its
// own PID namespace seeing only itself, its own uid and hostname, the code at
// /var/task and nothing of the host's tree, stdin /dev/null, no stray fds.
TEST_F(ZygoteTest, ForkedInstanceIsSandboxedLikeASpawnedOne) {
  auto [status, out] = run(spec(29001));
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status << " " << out;
  EXPECT_NE(out.find("pid=1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("uid=29001\n"), std::string::npos) << out;
  EXPECT_NE(out.find("host=zygote-test\n"), std::string::npos) << out;
  EXPECT_NE(out.find("task=from the code dir\n"), std::string::npos) << out;
  EXPECT_NE(out.find("host_code_visible=0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("procs=1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("stdin_is_null=1\n"), std::string::npos) << out;
  EXPECT_NE(out.find("extra_fds=0\n"), std::string::npos) << out;
  EXPECT_NE(out.find("env0=NIMBUS_TEST=29001\n"), std::string::npos) << out;
}

// One zygote serves instance after instance, each in its own namespaces with
// its own uid; the zygote itself stays outside them.
TEST_F(ZygoteTest, ServesManyInstances) {
  for (uid_t uid : {29011u, 29012u, 29013u}) {
    auto [status, out] = run(spec(uid));
    ASSERT_EQ(status, 0) << out;
    EXPECT_NE(out.find("uid=" + std::to_string(uid) + "\n"), std::string::npos) << out;
    EXPECT_NE(out.find("pid=1\n"), std::string::npos) << out;
  }
  EXPECT_TRUE(zygote_->alive());
}

// A child that cannot enter its sandbox is reported with the failing step
// and path, reaped by us (its parent), and the zygote keeps serving.
TEST_F(ZygoteTest, FailedSandboxIsReportedAndTheZygoteGoesOn) {
  Spec bad = spec(29021);
  bad.code_dir = code_ + "/missing";
  auto [status, out] = run(bad);
  EXPECT_EQ(status, -1);
  EXPECT_NE(out.find("missing"), std::string::npos) << out;
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), 0) << "only the zygote is left to reap";
  auto [status2, out2] = run(spec(29022));
  EXPECT_EQ(status2, 0) << out2;
}

// uid 0 is refused before any child exists, as spawn() refuses it.
TEST_F(ZygoteTest, RootIsRefused) {
  auto [status, out] = run(spec(0));
  EXPECT_EQ(status, -1);
  EXPECT_NE(out.find("uid/gid 0"), std::string::npos) << out;
}

// A dead zygote fails the launch (the launcher then execs) and says so.
TEST_F(ZygoteTest, DeadZygoteFailsCleanly) {
  ::kill(zygote_->pid(), SIGKILL);
  auto [status, out] = run(spec(29031));
  EXPECT_EQ(status, -1);
  EXPECT_FALSE(zygote_->alive());
}

}  // namespace
}  // namespace nimbus::sandbox
