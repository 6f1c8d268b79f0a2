// A native DynamoDB load generator (issue 4), so that the client is not what
// is measured: a closed loop of C keep-alive HTTP/1.1 connections driven from
// T epoll threads, every request signed with SigV4 (OpenSSL HMAC-SHA256) as an
// SDK signs it. It speaks only the json-1.0 wire protocol and talks to any
// DynamoDB endpoint: `nimbus serve`, dynalite, DynamoDB Local.
//
//   nimbus_dynamodb_loadgen --endpoint 127.0.0.1:4566 --op get --keys 100000 -c 8 -d 10
//
// Ops (table: pk S HASH, sk N RANGE; items carry a string attribute v of
// --value-bytes random characters, incompressible):
//   create   CreateTable (PAY_PER_REQUEST) and wait until DescribeTable says ACTIVE
//   load     BatchWriteItem of items pk="k<i>", sk=0 for i in [--from, --to), 25 per call
//   loadq    BatchWriteItem of --partitions partitions pk="q<j>" with --per-partition
//            items each (sk = 0..n-1), for the Query load
//   put      PutItem with distinct keys pk="p<run>-<conn>-<n>" (the table grows)
//   get      GetItem of a uniformly random key among the --keys loaded ones
//   query    Query pk = "q<j>" of a uniformly random partition (all its items)
//   sign     no server: the time this tool takes to sign one GetItem
//
// Output: one line,
//   RESULT op=get c=8 ops=... ops_s=... p50_us=... p90_us=... p99_us=... p999_us=...
//          max_us=... errors=... misses=...
// Latency is from the first byte written to the last byte of the answer read,
// for the calls completed within the measured window (after --warmup).
// errors: non-200 answers, broken connections, BatchWriteItem calls with
// UnprocessedItems; misses: GetItem answers without an Item (the key space
// passed in --keys is not loaded). The first error body is printed on stderr.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string op;
  std::string table = "bench";
  int connections = 1;
  int threads = 1;
  double duration = 10;
  double warmup = 2;
  uint64_t keys = 0;                              // get: the loaded key space k0..k<keys-1>
  uint64_t from = 0, to = 0;                      // load
  uint64_t partitions = 1000, per_partition = 5;  // loadq, query
  size_t value_bytes = 100;
  std::string run = "r";  // put: key prefix, distinct per run
  std::string access_key = "test", secret_key = "test", region = "us-east-1";
  bool sign = true;
  bool consistent = false;  // GetItem ConsistentRead
};

[[noreturn]] void usage(const char* msg) {
  std::fprintf(stderr,
               "%s\nusage: nimbus_dynamodb_loadgen --endpoint HOST:PORT --op "
               "create|load|loadq|put|get|query\n"
               "  [--table bench] [-c CONNECTIONS=1] [-t THREADS=1] [-d SECONDS=10] "
               "[--warmup SECONDS=2]\n"
               "  [--keys N] [--from A --to B] [--partitions 1000] [--per-partition 5]\n"
               "  [--value-bytes 100] [--run ID] [--consistent] [--no-sign]\n"
               "  [--access-key test --secret-key test --region us-east-1]\n",
               msg);
  std::exit(2);
}

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) usage(("missing value after " + std::string(a)).c_str());
      return argv[++i];
    };
    if (a == "--endpoint") {
      std::string e = next();
      if (e.starts_with("http://")) e = e.substr(7);
      auto colon = e.rfind(':');
      if (colon == std::string::npos) usage("--endpoint needs HOST:PORT");
      o.host = e.substr(0, colon);
      o.port = std::atoi(e.c_str() + colon + 1);
    } else if (a == "--op") {
      o.op = next();
    } else if (a == "--table") {
      o.table = next();
    } else if (a == "-c" || a == "--connections") {
      o.connections = std::atoi(next().c_str());
    } else if (a == "-t" || a == "--threads") {
      o.threads = std::atoi(next().c_str());
    } else if (a == "-d" || a == "--duration") {
      o.duration = std::atof(next().c_str());
    } else if (a == "--warmup") {
      o.warmup = std::atof(next().c_str());
    } else if (a == "--keys") {
      o.keys = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--from") {
      o.from = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--to") {
      o.to = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--partitions") {
      o.partitions = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--per-partition") {
      o.per_partition = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--value-bytes") {
      o.value_bytes = std::strtoull(next().c_str(), nullptr, 10);
    } else if (a == "--run") {
      o.run = next();
    } else if (a == "--access-key") {
      o.access_key = next();
    } else if (a == "--secret-key") {
      o.secret_key = next();
    } else if (a == "--region") {
      o.region = next();
    } else if (a == "--no-sign") {
      o.sign = false;
    } else if (a == "--consistent") {
      o.consistent = true;
    } else {
      usage(("unknown argument " + std::string(a)).c_str());
    }
  }
  if (o.port <= 0 && o.op != "sign") usage("--endpoint is required");
  if (o.op.empty()) usage("--op is required");
  if (o.connections < 1) o.connections = 1;
  if (o.threads < 1) o.threads = 1;
  if (o.threads > o.connections) o.threads = o.connections;
  if (o.op == "get" && o.keys == 0) usage("--op get needs --keys N (the loaded key space)");
  if (o.op == "load" && o.to <= o.from) usage("--op load needs --from A --to B with A < B");
  return o;
}

// ---- SigV4 ----

std::string hex(const unsigned char* p, size_t n) {
  static const char* d = "0123456789abcdef";
  std::string s(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    s[2 * i] = d[p[i] >> 4];
    s[2 * i + 1] = d[p[i] & 15];
  }
  return s;
}

// SHA-256 and HMAC-SHA256 with the algorithm objects fetched once per thread
// (OpenSSL 3's one-shot SHA256() and HMAC() fetch them on every call).
class Crypto {
 public:
  Crypto()
      : md_(EVP_MD_fetch(nullptr, "SHA256", nullptr)),
        md_ctx_(EVP_MD_CTX_new()),
        mac_(EVP_MAC_fetch(nullptr, "HMAC", nullptr)),
        mac_ctx_(EVP_MAC_CTX_new(mac_)) {
    static char digest[] = "SHA256";
    params_[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
    params_[1] = OSSL_PARAM_construct_end();
  }
  ~Crypto() {
    EVP_MAC_CTX_free(mac_ctx_);
    EVP_MAC_free(mac_);
    EVP_MD_CTX_free(md_ctx_);
    EVP_MD_free(md_);
  }
  std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestInit_ex2(md_ctx_, md_, nullptr);
    EVP_DigestUpdate(md_ctx_, data.data(), data.size());
    EVP_DigestFinal_ex(md_ctx_, md, &len);
    return hex(md, len);
  }
  // HMAC with a new key.
  std::string hmac(std::string_view key, std::string_view data) {
    if (EVP_MAC_init(mac_ctx_, reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     params_) != 1) {
      std::fprintf(stderr, "HMAC-SHA256 init failed\n");
      std::exit(1);
    }
    return finish(data);
  }
  // HMAC with the key of the previous hmac() call (OpenSSL keeps it).
  std::string hmac_same_key(std::string_view data) {
    if (EVP_MAC_init(mac_ctx_, nullptr, 0, nullptr) != 1) {
      std::fprintf(stderr, "HMAC-SHA256 init failed\n");
      std::exit(1);
    }
    return finish(data);
  }

 private:
  std::string finish(std::string_view data) {
    unsigned char out[EVP_MAX_MD_SIZE];
    size_t len = 0;
    if (EVP_MAC_update(mac_ctx_, reinterpret_cast<const unsigned char*>(data.data()),
                       data.size()) != 1 ||
        EVP_MAC_final(mac_ctx_, out, &len, sizeof out) != 1) {
      std::fprintf(stderr, "HMAC-SHA256 failed\n");
      std::exit(1);
    }
    return std::string(reinterpret_cast<char*>(out), len);
  }
  EVP_MD* md_;
  EVP_MD_CTX* md_ctx_;
  EVP_MAC* mac_;
  EVP_MAC_CTX* mac_ctx_;
  OSSL_PARAM params_[2];
};

// Signs json-1.0 POST / requests for one host, region and key. The signing key
// is derived once per UTC day, the date strings once per second.
class Signer {
 public:
  Signer(const Options& o) : o_(o), host_header_(o.host + ":" + std::to_string(o.port)) {}

  // The request's headers (without the request line and the blank line).
  std::string headers(std::string_view target, std::string_view body) {
    refresh_date();
    std::string h;
    h.reserve(512);
    h += "Host: " + host_header_ + "\r\n";
    h += "Content-Type: application/x-amz-json-1.0\r\n";
    h += "X-Amz-Target: ";
    h += target;
    h += "\r\n";
    h += "X-Amz-Date: " + amz_date_ + "\r\n";
    if (o_.sign) {
      std::string canonical;
      canonical.reserve(400);
      canonical += "POST\n/\n\ncontent-type:application/x-amz-json-1.0\nhost:";
      canonical += host_header_;
      canonical += "\nx-amz-date:";
      canonical += amz_date_;
      canonical += "\nx-amz-target:";
      canonical += target;
      canonical += "\n\ncontent-type;host;x-amz-date;x-amz-target\n";
      canonical += crypto_.sha256_hex(body);
      std::string sts =
          "AWS4-HMAC-SHA256\n" + amz_date_ + "\n" + scope_ + "\n" + crypto_.sha256_hex(canonical);
      std::string sig = crypto_.hmac_same_key(sts);
      h += "Authorization: AWS4-HMAC-SHA256 Credential=" + o_.access_key + "/" + scope_ +
           ", SignedHeaders=content-type;host;x-amz-date;x-amz-target, Signature=" +
           hex(reinterpret_cast<const unsigned char*>(sig.data()), sig.size()) + "\r\n";
    }
    h += "Content-Length: " + std::to_string(body.size()) + "\r\n";
    return h;
  }

 private:
  void refresh_date() {
    time_t now = std::time(nullptr);
    if (now == second_) return;
    second_ = now;
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    amz_date_ = buf;
    std::string day = amz_date_.substr(0, 8);
    if (day != day_) {
      day_ = day;
      scope_ = day + "/" + o_.region + "/dynamodb/aws4_request";
      std::string k = crypto_.hmac("AWS4" + o_.secret_key, day);
      k = crypto_.hmac(k, o_.region);
      k = crypto_.hmac(k, "dynamodb");
      signing_key_ = crypto_.hmac(k, "aws4_request");
    }
    crypto_.hmac(signing_key_, "");  // hmac_same_key() signs with it from now on
  }

  const Options& o_;
  Crypto crypto_;
  std::string host_header_;
  time_t second_ = 0;
  std::string amz_date_, day_, scope_, signing_key_;
};

// ---- requests ----

struct Rng {
  uint64_t s;
  uint64_t next() {  // xorshift64*
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 2685821657736338717ULL;
  }
  uint64_t below(uint64_t n) { return n ? next() % n : 0; }
};

// The attribute v: `bytes` characters from a 64-letter alphabet, a pure
// function of `seed`, so that the store cannot compress items away (a run of
// one letter would shrink 10 million items to a few MB).
std::string value_of(uint64_t seed, size_t bytes) {
  static const char* letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  Rng r{seed * 0x9E3779B97F4A7C15ULL + 1};
  std::string v(bytes, 'x');
  uint64_t bits = 0;
  for (size_t i = 0; i < bytes; ++i) {
    if (i % 10 == 0) bits = r.next();
    v[i] = letters[bits & 63];
    bits >>= 6;
  }
  return v;
}

std::string item_json(std::string_view pk, uint64_t sk, const std::string& value) {
  std::string s = R"({"pk":{"S":")";
  s += pk;
  s += R"("},"sk":{"N":")" + std::to_string(sk) + R"("},"v":{"S":")" + value + R"("}})";
  return s;
}

// Hands out the items of a load: [from, to) for `load`, partition-major for
// `loadq`, 25 per BatchWriteItem, shared by every connection of every thread.
struct LoadCursor {
  std::atomic<uint64_t> next{0};
  uint64_t total = 0;
};

struct Request {
  std::string target;
  std::string body;
};

class Workload {
 public:
  Workload(const Options& o, LoadCursor& cursor) : o_(o), cursor_(cursor) {}

  // False when there is nothing left to do (a load that is finished).
  bool make(Rng& rng, int conn_id, uint64_t& seq, Request& r) {
    const std::string& t = o_.table;
    if (o_.op == "get") {
      r.target = "DynamoDB_20120810.GetItem";
      r.body = R"({"TableName":")" + t + R"(","Key":{"pk":{"S":"k)" +
               std::to_string(rng.below(o_.keys)) + R"("},"sk":{"N":"0"}})" +
               (o_.consistent ? R"(,"ConsistentRead":true})" : "}");
      return true;
    }
    if (o_.op == "put") {
      r.target = "DynamoDB_20120810.PutItem";
      std::string pk = "p" + o_.run + "-" + std::to_string(conn_id) + "-" + std::to_string(seq++);
      r.body = R"({"TableName":")" + t + R"(","Item":)" +
               item_json(pk, 0, value_of(rng.next(), o_.value_bytes)) + "}";
      return true;
    }
    if (o_.op == "query") {
      r.target = "DynamoDB_20120810.Query";
      r.body = R"({"TableName":")" + t +
               R"(","KeyConditionExpression":"pk = :p","ExpressionAttributeValues":{":p":{"S":"q)" +
               std::to_string(rng.below(o_.partitions)) + R"("}}})";
      return true;
    }
    if (o_.op == "load" || o_.op == "loadq") {
      uint64_t first = cursor_.next.fetch_add(25);
      if (first >= cursor_.total) return false;
      uint64_t last = std::min(cursor_.total, first + 25);
      r.target = "DynamoDB_20120810.BatchWriteItem";
      r.body = R"({"RequestItems":{")" + t + R"(":[)";
      for (uint64_t i = first; i < last; ++i) {
        if (i != first) r.body += ',';
        r.body += R"({"PutRequest":{"Item":)";
        if (o_.op == "load")
          r.body += item_json("k" + std::to_string(o_.from + i), 0,
                              value_of(o_.from + i, o_.value_bytes));
        else
          r.body += item_json("q" + std::to_string(i / o_.per_partition), i % o_.per_partition,
                              value_of(i, o_.value_bytes));
        r.body += "}}";
      }
      r.body += "]}}";
      return true;
    }
    std::fprintf(stderr, "unknown op %s\n", o_.op.c_str());
    std::exit(2);
  }

 private:
  const Options& o_;
  LoadCursor& cursor_;
};

// ---- connections ----

int connect_to(const Options& o) {
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  if (getaddrinfo(o.host.c_str(), std::to_string(o.port).c_str(), &hints, &res) != 0 || !res) {
    std::fprintf(stderr, "cannot resolve %s\n", o.host.c_str());
    std::exit(1);
  }
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (::connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    std::fprintf(stderr, "cannot connect to %s:%d: %s\n", o.host.c_str(), o.port,
                 std::strerror(errno));
    std::exit(1);
  }
  freeaddrinfo(res);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

struct Conn {
  int id = 0;
  int fd = -1;
  std::string out;
  size_t sent = 0;
  std::string in;
  Clock::time_point started;
  uint64_t seq = 0;
  bool busy = false;
};

// Parses one complete HTTP/1.1 answer at the front of `in`: its status and
// body; returns the bytes it used, 0 when incomplete.
size_t parse_answer(const std::string& in, int& status, std::string& body) {
  size_t end = in.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  if (in.size() < 12) return 0;
  status = std::atoi(in.c_str() + 9);
  size_t length = 0;
  bool chunked = false;
  size_t pos = in.find("\r\n") + 2;
  while (pos < end) {
    size_t eol = in.find("\r\n", pos);
    std::string_view line(in.data() + pos, eol - pos);
    auto colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string name(line.substr(0, colon));
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      if (name == "content-length") length = std::strtoull(std::string(value).c_str(), nullptr, 10);
      if (name == "transfer-encoding" && value.find("chunked") != std::string_view::npos)
        chunked = true;
    }
    pos = eol + 2;
  }
  size_t start = end + 4;
  if (!chunked) {
    if (in.size() < start + length) return 0;
    body.assign(in, start, length);
    return start + length;
  }
  body.clear();
  size_t p = start;
  for (;;) {
    size_t eol = in.find("\r\n", p);
    if (eol == std::string::npos) return 0;
    size_t n = std::strtoull(in.c_str() + p, nullptr, 16);
    if (n == 0) {
      if (in.size() < eol + 4) return 0;
      return eol + 4;
    }
    if (in.size() < eol + 2 + n + 2) return 0;
    body.append(in, eol + 2, n);
    p = eol + 2 + n + 2;
  }
}

struct ThreadResult {
  std::vector<uint32_t> latencies_us;  // measured window only
  uint64_t ops = 0, errors = 0, misses = 0;
};

std::mutex g_print_mu;
bool g_printed_error = false;

void note_error(const std::string& what) {
  std::lock_guard lk(g_print_mu);
  if (g_printed_error) return;
  g_printed_error = true;
  std::fprintf(stderr, "first error: %s\n", what.substr(0, 600).c_str());
}

bool unprocessed(const std::string& body) {
  auto p = body.find("\"UnprocessedItems\"");
  if (p == std::string::npos) return false;
  p = body.find(':', p);
  if (p == std::string::npos) return true;
  ++p;
  while (p < body.size() && body[p] == ' ') ++p;
  if (p >= body.size() || body[p] != '{') return true;
  ++p;
  while (p < body.size() && body[p] == ' ') ++p;
  return p >= body.size() || body[p] != '}';
}

void run_thread(const Options& o, Workload& work, int first_conn, int nconn,
                Clock::time_point measure_from, Clock::time_point stop_at, uint64_t seed,
                ThreadResult& res) {
  Signer signer(o);
  Rng rng{seed | 1};
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  std::vector<Conn> conns(nconn);
  Request req;
  std::string body;
  const bool is_load = o.op == "load" || o.op == "loadq";
  const bool is_get = o.op == "get";
  size_t done_conns = 0;

  auto send_some = [&](Conn& c) -> bool {
    while (c.sent < c.out.size()) {
      ssize_t n = ::send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
      if (n > 0) {
        c.sent += static_cast<size_t>(n);
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        epoll_event ev{};
        ev.events = EPOLLIN | EPOLLOUT;
        ev.data.u32 = static_cast<uint32_t>(&c - conns.data());
        ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        return true;
      } else {
        return false;
      }
    }
    return true;
  };
  auto issue = [&](Conn& c) -> bool {
    if (Clock::now() >= stop_at) return false;
    if (!work.make(rng, c.id, c.seq, req)) return false;
    c.out = "POST / HTTP/1.1\r\n" + signer.headers(req.target, req.body) + "\r\n" + req.body;
    c.sent = 0;
    c.busy = true;
    c.started = Clock::now();
    return send_some(c);
  };
  auto open = [&](Conn& c) {
    c.fd = connect_to(o);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = static_cast<uint32_t>(&c - conns.data());
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  };
  auto finish = [&](Conn& c) {
    if (c.fd >= 0) {
      ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
      ::close(c.fd);
      c.fd = -1;
    }
    c.busy = false;
    ++done_conns;
  };

  for (int i = 0; i < nconn; ++i) {
    conns[i].id = first_conn + i;
    open(conns[i]);
  }
  for (auto& c : conns)
    if (!issue(c)) finish(c);

  std::vector<epoll_event> events(64);
  char buf[65536];
  while (done_conns < conns.size()) {
    int timeout_ms = 100;
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    if (n < 0 && errno != EINTR) break;
    if (!is_load && Clock::now() >= stop_at + std::chrono::seconds(5)) break;  // stuck answers
    for (int e = 0; e < n; ++e) {
      Conn& c = conns[events[e].data.u32];
      if (c.fd < 0) continue;
      if (events[e].events & EPOLLOUT) {
        if (!send_some(c)) {
          ++res.errors;
          note_error("send failed");
          finish(c);
          continue;
        }
        if (c.sent == c.out.size()) {
          epoll_event ev{};
          ev.events = EPOLLIN;
          ev.data.u32 = events[e].data.u32;
          ::epoll_ctl(ep, EPOLL_CTL_MOD, c.fd, &ev);
        }
      }
      if (!(events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR))) continue;
      // Reads until the answer is complete (one recv in the usual case) or
      // the socket is drained.
      bool closed = false;
      int status = 0;
      size_t used = 0;
      for (;;) {
        ssize_t r = ::recv(c.fd, buf, sizeof buf, 0);
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          if (c.busy && (used = parse_answer(c.in, status, body))) break;
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) closed = true;
        break;
      }
      if (used) {
        auto now = Clock::now();
        c.in.erase(0, used);
        c.busy = false;
        bool ok = status == 200;
        if (ok && is_load && unprocessed(body)) ok = false;
        if (!ok) note_error("HTTP " + std::to_string(status) + ": " + body);
        if (is_load) {
          ++res.ops;
          if (!ok) ++res.errors;
        } else if (c.started >= measure_from && now <= stop_at) {
          ++res.ops;
          if (!ok) ++res.errors;
          if (ok && is_get && body.find("\"Item\"") == std::string::npos) ++res.misses;
          res.latencies_us.push_back(static_cast<uint32_t>(
              std::chrono::duration_cast<std::chrono::microseconds>(now - c.started).count()));
        }
        if (closed) {
          ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
          ::close(c.fd);
          c.in.clear();
          open(c);
        }
        if (!issue(c)) finish(c);
        continue;
      }
      if (closed) {
        ++res.errors;
        note_error("connection closed by the server");
        finish(c);
      }
    }
  }
  for (auto& c : conns)
    if (c.fd >= 0) ::close(c.fd);
  ::close(ep);
}

// ---- create ----

// One blocking call on its own connection: the status and body.
std::pair<int, std::string> call_once(const Options& o, std::string_view target,
                                      const std::string& body) {
  Signer signer(o);
  int fd = connect_to(o);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string out = "POST / HTTP/1.1\r\n" + signer.headers(target, body) + "\r\n" + body;
  ::send(fd, out.data(), out.size(), MSG_NOSIGNAL);
  std::string in, answer;
  char buf[65536];
  int status = 0;
  for (;;) {
    ssize_t r = ::recv(fd, buf, sizeof buf, 0);
    if (r <= 0) break;
    in.append(buf, static_cast<size_t>(r));
    if (parse_answer(in, status, answer)) break;
  }
  ::close(fd);
  return {status, answer};
}

int create_table(const Options& o) {
  std::string def =
      R"({"TableName":")" + o.table +
      R"(","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},)"
      R"({"AttributeName":"sk","AttributeType":"N"}],"KeySchema":[{"AttributeName":"pk",)"
      R"("KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],)"
      R"("BillingMode":"PAY_PER_REQUEST"})";
  auto [status, body] = call_once(o, "DynamoDB_20120810.CreateTable", def);
  if (status != 200 && body.find("ResourceInUseException") == std::string::npos) {
    std::fprintf(stderr, "CreateTable: HTTP %d %s\n", status, body.c_str());
    return 1;
  }
  for (int i = 0; i < 600; ++i) {
    auto [s, b] =
        call_once(o, "DynamoDB_20120810.DescribeTable", R"({"TableName":")" + o.table + R"("})");
    if (s == 200 && b.find("\"TableStatus\":\"ACTIVE\"") != std::string::npos) return 0;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  std::fprintf(stderr, "table %s never became ACTIVE\n", o.table.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o = parse(argc, argv);
  if (o.op == "create") return create_table(o);
  if (o.op == "sign") {  // the client's own cost: CPU time to sign one GetItem
    Signer signer(o);
    std::string body = R"({"TableName":"bench","Key":{"pk":{"S":"k12345"},"sk":{"N":"0"}}})";
    size_t n = 200000, total = 0;
    auto t0 = Clock::now();
    for (size_t i = 0; i < n; ++i)
      total += signer.headers("DynamoDB_20120810.GetItem", body).size();
    double ns = std::chrono::duration<double, std::nano>(Clock::now() - t0).count() / n;
    std::printf("RESULT op=sign ns_per_request=%.0f (%zu header bytes)\n", ns, total / n);
    return 0;
  }

  const bool is_load = o.op == "load" || o.op == "loadq";
  LoadCursor cursor;
  cursor.total = o.op == "load" ? o.to - o.from : o.partitions * o.per_partition;
  Workload work(o, cursor);

  auto t0 = Clock::now();
  auto measure_from = is_load ? t0
                              : t0 + std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(o.warmup));
  auto stop_at = is_load ? Clock::time_point::max()
                         : measure_from + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(o.duration));
  std::vector<ThreadResult> results(o.threads);
  std::vector<std::thread> threads;
  int first = 0;
  for (int t = 0; t < o.threads; ++t) {
    int n = o.connections / o.threads + (t < o.connections % o.threads ? 1 : 0);
    uint64_t seed = static_cast<uint64_t>(t0.time_since_epoch().count()) * 31 + t * 7919 + 1;
    threads.emplace_back(run_thread, std::cref(o), std::ref(work), first, n, measure_from, stop_at,
                         seed, std::ref(results[t]));
    first += n;
  }
  for (auto& th : threads) th.join();
  double secs = is_load ? std::chrono::duration<double>(Clock::now() - t0).count() : o.duration;

  ThreadResult all;
  for (auto& r : results) {
    all.ops += r.ops;
    all.errors += r.errors;
    all.misses += r.misses;
    all.latencies_us.insert(all.latencies_us.end(), r.latencies_us.begin(), r.latencies_us.end());
  }
  if (is_load) {
    uint64_t items = cursor.total;
    std::printf("RESULT op=%s c=%d calls=%llu items=%llu seconds=%.2f items_s=%.0f errors=%llu\n",
                o.op.c_str(), o.connections, static_cast<unsigned long long>(all.ops),
                static_cast<unsigned long long>(items), secs, items / secs,
                static_cast<unsigned long long>(all.errors));
    return all.errors ? 1 : 0;
  }
  auto& l = all.latencies_us;
  std::sort(l.begin(), l.end());
  auto pct = [&](double p) -> unsigned {
    if (l.empty()) return 0;
    size_t i = static_cast<size_t>(p / 100.0 * static_cast<double>(l.size() - 1) + 0.5);
    return l[std::min(i, l.size() - 1)];
  };
  std::printf(
      "RESULT op=%s c=%d ops=%llu ops_s=%.0f p50_us=%u p90_us=%u p99_us=%u p999_us=%u max_us=%u "
      "errors=%llu misses=%llu\n",
      o.op.c_str(), o.connections, static_cast<unsigned long long>(all.ops), all.ops / secs,
      pct(50), pct(90), pct(99), pct(99.9), l.empty() ? 0 : l.back(),
      static_cast<unsigned long long>(all.errors), static_cast<unsigned long long>(all.misses));
  return all.errors ? 1 : 0;
}
