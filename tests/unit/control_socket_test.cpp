#include "vswitch/control_socket.hpp"

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "vswitch/unique_fd.hpp"

using namespace vswitch;
using namespace std::chrono_literals;

namespace {

using Clock = std::chrono::steady_clock;

constexpr std::size_t kBigAnswer = 4 * 1024 * 1024;

// "big" is answered with kBigAnswer bytes; anything else is echoed.
std::string test_handler(std::string_view request) {
  if (request == "big") return std::string(kBigAnswer, 'x');
  return "answer to " + std::string(request) + "\n";
}

UniqueFd connect_to(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  path.copy(addr.sun_path, sizeof addr.sun_path - 1);
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0) return {};
  return fd;
}

bool wait_readable(int fd, Clock::time_point deadline) {
  for (;;) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    const int rc = ::poll(&p, 1, left > 0 ? static_cast<int>(left) : 0);
    if (rc > 0) return true;
    if (left <= 0) return false;
  }
}

// True once the server has closed `fd` (end of stream or reset), draining what it sent.
bool closed_by_server(int fd) {
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) continue;
    return n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), {}};
}

class ControlServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/control_socket_test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    path_ = dir_ + "/vswitch.sock";
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  ControlServer serve() {
    auto server = ControlServer::listen(path_);
    EXPECT_TRUE(server) << server.error().message;
    EXPECT_TRUE(server->start(test_handler));
    return std::move(server).value();
  }

  // The answer and how long it took.
  std::pair<std::string, Clock::duration> timed_request(std::string_view request) {
    const auto start = Clock::now();
    auto answer = control_request(path_, request);
    const auto took = Clock::now() - start;
    EXPECT_TRUE(answer) << answer.error().message;
    return {answer ? *answer : std::string(), took};
  }

  std::string dir_;
  std::string path_;
};

}  // namespace

TEST_F(ControlServerTest, AnswersARequest) {
  ControlServer server = serve();
  EXPECT_EQ(timed_request("ports").first, "answer to ports\n");
  EXPECT_EQ(timed_request("fdb json").first, "answer to fdb json\n");
}

TEST_F(ControlServerTest, MovedServerKeepsServingAndRemovesItsSocketOnce) {
  {
    ControlServer first = serve();
    ControlServer second = std::move(first);
    EXPECT_EQ(timed_request("stats").first, "answer to stats\n");
  }
  struct stat st{};
  EXPECT_NE(::lstat(path_.c_str(), &st), 0) << "the socket file outlived its server";
}

TEST_F(ControlServerTest, RefusesRegularFileAndLeavesItIntact) {
  std::ofstream(path_) << "precious data\n";
  auto server = ControlServer::listen(path_);
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().message.find(path_), std::string::npos) << server.error().message;
  EXPECT_NE(server.error().message.find("regular file"), std::string::npos) << server.error().message;
  EXPECT_EQ(read_file(path_), "precious data\n");
}

TEST_F(ControlServerTest, RefusesSymlinkAndLeavesIt) {
  const std::string target = dir_ + "/target";
  std::ofstream(target) << "target data\n";
  ASSERT_EQ(::symlink(target.c_str(), path_.c_str()), 0);
  auto server = ControlServer::listen(path_);
  ASSERT_FALSE(server);
  EXPECT_NE(server.error().message.find("symbolic link"), std::string::npos) << server.error().message;
  struct stat st{};
  ASSERT_EQ(::lstat(path_.c_str(), &st), 0);
  EXPECT_TRUE(S_ISLNK(st.st_mode));
  EXPECT_EQ(std::filesystem::read_symlink(path_), target);
  EXPECT_EQ(read_file(target), "target data\n");
}

TEST_F(ControlServerTest, RefusesDirectoryAndFifo) {
  ASSERT_EQ(::mkdir(path_.c_str(), 0700), 0);
  auto at_directory = ControlServer::listen(path_);
  ASSERT_FALSE(at_directory);
  EXPECT_NE(at_directory.error().message.find("directory"), std::string::npos) << at_directory.error().message;
  EXPECT_TRUE(std::filesystem::is_directory(path_));

  const std::string fifo = dir_ + "/fifo.sock";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  auto at_fifo = ControlServer::listen(fifo);
  ASSERT_FALSE(at_fifo);
  EXPECT_NE(at_fifo.error().message.find("FIFO"), std::string::npos) << at_fifo.error().message;
  EXPECT_TRUE(std::filesystem::is_fifo(fifo));
}

TEST_F(ControlServerTest, ReplacesStaleSocket) {
  {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path_.copy(addr.sun_path, sizeof addr.sun_path - 1);
    UniqueFd dead(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    ASSERT_EQ(::bind(dead.get(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr), 0);
  }  // closed: its file stays behind, refusing connections
  ASSERT_TRUE(std::filesystem::is_socket(path_));
  ControlServer server = serve();
  EXPECT_EQ(timed_request("ports").first, "answer to ports\n");
}

TEST_F(ControlServerTest, RefusesPathOfLiveServer) {
  ControlServer live = serve();
  auto second = ControlServer::listen(path_);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("in use"), std::string::npos) << second.error().message;
  EXPECT_EQ(timed_request("ports").first, "answer to ports\n");  // the live one keeps its socket
}

TEST_F(ControlServerTest, RequestTooLongIsRefusedWithAnAnswer) {
  ControlServer server = serve();
  EXPECT_EQ(timed_request(std::string(ControlServer::kMaxRequestLine, 'a')).first,
            "answer to " + std::string(ControlServer::kMaxRequestLine, 'a') + "\n");
  EXPECT_EQ(timed_request(std::string(ControlServer::kMaxRequestLine + 1, 'a')).first, "error: request too long\n");
  // Far longer than the server reads: the rest is discarded, not turned into a reset.
  EXPECT_EQ(timed_request(std::string(4000, 'a')).first, "error: request too long\n");
}

TEST_F(ControlServerTest, SilentClientDoesNotDelayAnother) {
  ControlServer server = serve();
  UniqueFd silent = connect_to(path_);
  ASSERT_TRUE(silent.valid());
  const auto [answer, took] = timed_request("ports");
  EXPECT_EQ(answer, "answer to ports\n");
  EXPECT_LT(took, 1s);
}

TEST_F(ControlServerTest, UnreadLargeAnswerDoesNotDelayAnother) {
  ControlServer server = serve();
  UniqueFd greedy = connect_to(path_);
  ASSERT_TRUE(greedy.valid());
  ASSERT_EQ(::send(greedy.get(), "big\n", 4, MSG_NOSIGNAL), 4);
  ASSERT_TRUE(wait_readable(greedy.get(), Clock::now() + 2s)) << "the big answer never started";
  const auto [answer, took] = timed_request("ports");
  EXPECT_EQ(answer, "answer to ports\n");
  EXPECT_LT(took, 1s);
}

// Idle clients beyond the table displace the longest-waiting ones, so the table stays bounded
// and a real request is answered at once while the rest idle.
TEST_F(ControlServerTest, IdleClientsAreBoundedAndDoNotLockOutARequest) {
  ControlServer server = serve();
  constexpr std::size_t kIdle = ControlServer::kMaxClients + 4;
  std::vector<UniqueFd> idle;
  for (std::size_t i = 0; i < kIdle; ++i) {
    idle.push_back(connect_to(path_));
    ASSERT_TRUE(idle.back().valid());
  }
  const auto [answer, took] = timed_request("ports");
  EXPECT_EQ(answer, "answer to ports\n");
  EXPECT_LT(took, 1s);

  // The request and the idle clients beyond the table displaced the oldest idle ones.
  const std::size_t expected_closed = kIdle + 1 - ControlServer::kMaxClients;
  const auto deadline = Clock::now() + 2s;
  std::size_t closed = 0;
  while (closed < expected_closed && wait_readable(idle[closed].get(), deadline) &&
         closed_by_server(idle[closed].get()))
    ++closed;
  EXPECT_EQ(closed, expected_closed);
  for (std::size_t i = expected_closed; i < kIdle; ++i)
    EXPECT_FALSE(closed_by_server(idle[i].get())) << "idle client " << i << " was closed too";
}

TEST_F(ControlServerTest, StopReturnsPromptlyWithClientsConnected) {
  ControlServer server = serve();
  UniqueFd silent = connect_to(path_);
  UniqueFd greedy = connect_to(path_);
  ASSERT_TRUE(silent.valid() && greedy.valid());
  ASSERT_EQ(::send(greedy.get(), "big\n", 4, MSG_NOSIGNAL), 4);
  ASSERT_TRUE(wait_readable(greedy.get(), Clock::now() + 2s));
  const auto start = Clock::now();
  server.stop();
  EXPECT_LT(Clock::now() - start, 500ms);
  EXPECT_TRUE(wait_readable(silent.get(), Clock::now() + 1s) && closed_by_server(silent.get()));
  server.stop();  // idempotent
}
