#include "sandbox/fork_template.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <csignal>
#include <string>
#include <thread>

#include "sandbox/cgroup.h"
#include "sandbox/unix_message.h"
#include "sandbox/zygote_protocol.h"

namespace nimbus::sandbox {
namespace {

using namespace std::chrono_literals;

const std::string& cgroup_parent() {
  static const std::string parent = "nimbus-test-template-" + std::to_string(::getpid());
  return parent;
}

// How the fake template below answers a fork request.
enum class Answer { kFork, kFromTemplateItself, kError, kUnsafe };

// A copy of the fake template: what bootstrap.py's _become_instance does, with
// the runtime replaced by "write the environment to stdout, then exit 7", or
// by "start a grandchild and sleep" when the environment says SLEEP=1.
[[noreturn]] void fake_copy(int control, std::vector<UniqueFd>& fds) {
  for (size_t i = 1; i < fds.size(); ++i)
    if (::write(fds[i].get(), "0", 1) != 1) ::_exit(2);
  if (!send_message(control, "ok")) ::_exit(3);
  ::close(control);
  std::string buf;
  std::vector<UniqueFd> run_fds;
  auto n = receive_message(fds[0].get(), 1 << 16, buf, run_fds);
  if (!n || *n == 0 || run_fds.size() != 4) ::_exit(0);  // a spare dropped
  auto env = decode_environment(std::string_view(buf).substr(4));
  if (!env.empty() && env[0] == "SLEEP=1") {
    if (::fork() == 0) ::pause();
    ::pause();
  }
  std::string out;
  for (const auto& e : env) out += e + "\n";
  (void)!::write(run_fds[0].get(), out.data(), out.size());
  ::_exit(7);
}

[[noreturn]] void fake_template(int control, Answer answer) {
  if (answer == Answer::kUnsafe) {
    (void)send_message(control, "unsafe 1 thread(s) running after init");
    ::_exit(0);
  }
  if (!send_message(control, "ready")) ::_exit(1);
  for (;;) {
    std::string buf;
    std::vector<UniqueFd> fds;
    auto n = receive_message(control, 1 << 16, buf, fds);
    if (!n || *n == 0) ::_exit(0);
    if (answer == Answer::kError) {
      (void)send_message(control, "error out of luck");
    } else if (answer == Answer::kFromTemplateItself) {
      (void)send_message(control, "ok");  // not from the copy, not in its cgroup
    } else if (::fork() == 0) {
      fake_copy(control, fds);
    }
  }
}

std::unique_ptr<ForkTemplate> fork_fake_template(Answer answer) {
  auto pair = ForkTemplate::socket_pair();
  if (!pair) return nullptr;
  pid_t pid = ::fork();
  if (pid == 0) {
    (*pair)[0].reset();
    fake_template((*pair)[1].get(), answer);
  }
  (*pair)[1].reset();
  auto t = ForkTemplate::adopt(pid, std::move((*pair)[0]));
  return t ? std::move(*t) : nullptr;
}

ForkTemplate::State wait_until_decided(ForkTemplate& t) {
  for (int i = 0; i < 2000; ++i) {
    auto s = t.poll();
    if (s != ForkTemplate::State::kStarting) return s;
    pollfd p{-1, 0, 0};
    ::poll(&p, 0, 1);  // the fake answers at once; this only yields the CPU
  }
  return ForkTemplate::State::kStarting;
}

class ForkTemplateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (cgroup_version(&why) == CgroupVersion::kNone || ::geteuid() != 0)
      GTEST_SKIP() << "needs root and cgroups: " << why;
  }
  static void TearDownTestSuite() {
    for (const char* ctrl : {"memory", "cpu", "cpuacct", "pids", ""}) {
      std::string dir =
          std::string("/sys/fs/cgroup/") + ctrl + (*ctrl ? "/" : "") + cgroup_parent();
      ::rmdir(dir.c_str());
    }
  }
  static Spec spec(std::vector<std::string> env, int stdout_fd) {
    Spec s;
    s.env = std::move(env);
    s.stdout_fd = stdout_fd;
    s.memory_limit_bytes = 64ull << 20;
    s.pids_max = 16;
    s.cgroup_parent = cgroup_parent();
    return s;
  }
  static std::string read_file(const std::string& path) {
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return fd.valid() ? read_all(fd.get()) : std::string();
  }
  static std::string read_all(int fd) {
    std::string out;
    char buf[256];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
    return out;
  }
};

TEST_F(ForkTemplateTest, CopiesBecomeInstancesInTheirOwnCgroups) {
  auto t = fork_fake_template(Answer::kFork);
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(wait_until_decided(*t), ForkTemplate::State::kReady);
  std::vector<std::string> groups;
  // The first copy is forked on request, the second was forked ahead (the spare).
  for (std::string who : {"A=first", "A=second"}) {
    int p[2];
    ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
    UniqueFd r(p[0]), w(p[1]);
    auto inst = t->spawn(spec({who, "B=2"}, w.get()));
    ASSERT_TRUE(inst) << inst.error().message;
    w.reset();
    EXPECT_EQ(read_all(r.get()), who + "\nB=2\n");
    auto status = (*inst)->wait(5s);
    ASSERT_TRUE(status);
    // Not our child: its status comes from /proc while it is a zombie.
    EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 7) << *status;
    ASSERT_FALSE((*inst)->cgroup_dirs().empty());
    groups.push_back((*inst)->cgroup_dirs().front());
  }
  EXPECT_NE(groups[0], groups[1]);
}

TEST_F(ForkTemplateTest, AForkRequestedAheadWaitsForTheTemplateAndServesTheFirstSpawn) {
  auto t = fork_fake_template(Answer::kFork);
  ASSERT_NE(t, nullptr);
  t->fork_ahead(spec({}, -1));  // sent while the template may still be starting
  ASSERT_EQ(wait_until_decided(*t), ForkTemplate::State::kReady);
  int p[2];
  ASSERT_EQ(::pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  auto inst = t->spawn(spec({"A=ahead"}, w.get()));
  ASSERT_TRUE(inst) << inst.error().message;
  w.reset();
  EXPECT_EQ(read_all(r.get()), "A=ahead\n");
  EXPECT_TRUE((*inst)->wait(5s));
}

TEST_F(ForkTemplateTest, KillTakesTheWholeCopyDown) {
  auto t = fork_fake_template(Answer::kFork);
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(wait_until_decided(*t), ForkTemplate::State::kReady);
  auto inst = t->spawn(spec({"SLEEP=1"}, -1));
  ASSERT_TRUE(inst) << inst.error().message;
  std::string dir = (*inst)->cgroup_dirs().front();
  // The copy and its grandchild are in the copy's cgroup.
  auto procs = [&] {
    int n = 0;
    for (char c : read_file(dir + "/cgroup.procs")) n += c == '\n';
    return n;
  };
  for (int i = 0; i < 500 && procs() < 2; ++i) (void)(*inst)->wait(2ms);
  EXPECT_EQ(procs(), 2);
  EXPECT_FALSE((*inst)->wait(20ms));
  (*inst)->kill();
  EXPECT_TRUE((*inst)->wait(5s));
  inst->reset();  // removes the cgroup: only possible once every process left
  EXPECT_NE(::access(dir.c_str(), F_OK), 0) << dir;
}

TEST_F(ForkTemplateTest, AnAnswerFromAnyoneButTheCopyIsRefused) {
  // The template runs the function's code: an "ok" from a process outside the
  // copy's cgroup (here the template itself) must not become an instance.
  auto t = fork_fake_template(Answer::kFromTemplateItself);
  ASSERT_NE(t, nullptr);
  ASSERT_EQ(wait_until_decided(*t), ForkTemplate::State::kReady);
  auto inst = t->spawn(spec({"A=1"}, -1));
  ASSERT_FALSE(inst);
  EXPECT_NE(inst.error().message.find("did not come from the new copy"), std::string::npos)
      << inst.error().message;
}

TEST_F(ForkTemplateTest, ErrorsAndRefusalsArePassedOn) {
  auto failing = fork_fake_template(Answer::kError);
  ASSERT_NE(failing, nullptr);
  ASSERT_EQ(wait_until_decided(*failing), ForkTemplate::State::kReady);
  auto inst = failing->spawn(spec({"A=1"}, -1));
  ASSERT_FALSE(inst);
  EXPECT_NE(inst.error().message.find("out of luck"), std::string::npos);

  auto unsafe = fork_fake_template(Answer::kUnsafe);
  ASSERT_NE(unsafe, nullptr);
  EXPECT_EQ(wait_until_decided(*unsafe), ForkTemplate::State::kRefused);
  EXPECT_EQ(unsafe->reason(), "not fork-safe: 1 thread(s) running after init");
  EXPECT_FALSE(unsafe->spawn(spec({"A=1"}, -1)));
}

}  // namespace
}  // namespace nimbus::sandbox
