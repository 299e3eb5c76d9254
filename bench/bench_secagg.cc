// Per-client cost of secure aggregation: CPU time and bytes per client for plain (unmasked)
// fixed-point aggregation, SecAgg (Bonawitz et al. 2017) and SecAgg+ (Bell et al. 2020), for a
// model of --params parameters and 100 and 1000 clients (--clients).
//
// Times are thread CPU time (the machine may be shared). Where the whole protocol is cheap
// enough, every client and the server run every round; for SecAgg with many clients (each
// masks with all n-1 others, so all n clients together cost O(n² L)) every client runs rounds
// 0-1 (so that each measured client receives its n-1 shares) and only --sample clients run
// rounds 2-3, against the public unmask request with every client surviving; the server is not
// timed there.
//
//   bench_secagg [--params 100000] [--clients 100,1000] [--sample 3] [--drop 0.05]
#include <time.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "fl/privacy/secagg.h"

namespace {

using namespace tern::fl;

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

template <typename T>
T Check(tern::Result<T> r, const char* what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(r).value();
}

void Check(const tern::Status& st, const char* what) {
  if (!st.ok()) {
    std::fprintf(stderr, "%s: %s\n", what, st.ToString().c_str());
    std::exit(1);
  }
}

struct Row {
  std::string scheme;
  uint32_t n = 0, t = 0, k = 0;
  uint32_t measured = 0;  // clients whose rounds were timed
  double client_ms[4] = {0, 0, 0, 0};
  double sent = 0, received = 0;  // bytes per client
  double server_ms = -1;          // < 0: not measured
  uint32_t dropped = 0;
};

std::vector<float> RandomUpdate(std::mt19937& rng, uint32_t length) {
  std::normal_distribution<float> dist(0, 0.01f);
  std::vector<float> u(length);
  for (float& v : u) v = dist(rng);
  return u;
}

Row RunPlain(uint32_t n, uint32_t length) {
  Row row{"plain", n};
  auto codec = Check(FixedPointCodec::Create(0.1, 32, n), "codec");
  std::mt19937 rng(1);
  std::vector<uint32_t> sum(length, 0);
  double client = 0, server = 0;
  for (uint32_t c = 0; c < n; ++c) {
    std::vector<float> update = RandomUpdate(rng, length);
    double t0 = ThreadCpuMs();
    std::vector<uint32_t> encoded = codec.Encode(update);
    double t1 = ThreadCpuMs();
    Check(AddModular(sum, encoded, 32), "add");
    double t2 = ThreadCpuMs();
    client += t1 - t0;
    server += t2 - t1;
  }
  row.measured = n;
  row.client_ms[2] = client / n;
  row.sent = 4.0 * length;
  row.server_ms = server;
  return row;
}

// `sample` == 0: everyone runs every round and the server is timed.
Row RunSecAgg(uint32_t n, uint32_t length, uint32_t neighbors, uint32_t sample, double drop) {
  SecAggConfig config;
  config.num_clients = n;
  config.neighbors = neighbors;
  config.threshold = neighbors ? neighbors / 2 + 1 : n / 2 + 1;
  config.vector_length = length;
  config.modulus_bits = 32;
  config.round_id = 1;
  for (size_t i = 0; i < config.graph_seed.size(); ++i) config.graph_seed[i] = uint8_t(i);
  Row row{neighbors ? "SecAgg+" : "SecAgg", n, config.threshold, neighbors};
  auto codec = Check(FixedPointCodec::Create(0.1, 32, n), "codec");

  const bool full = sample == 0;
  std::vector<bool> timed(n + 1, full);
  for (uint32_t i = 0; !full && i < sample; ++i) timed[1 + i * (n / sample)] = true;
  // Clients that drop after sharing keys (the costly case for the server: it rebuilds their
  // mask keys and the masks they left); only in full runs.
  std::vector<bool> drops(n + 1, false);
  if (full) {
    for (uint32_t id = 2; id <= n && row.dropped < uint32_t(drop * n); id += 7) {
      drops[id] = true;
      ++row.dropped;
    }
  }
  std::vector<double> ms(4 * (n + 1), 0);
  std::vector<double> sent(n + 1, 0), received(n + 1, 0);
  double server = 0;
  auto timed_call = [&](ClientId id, int round, auto&& fn) {
    double t0 = ThreadCpuMs();
    auto out = fn();
    ms[4 * id + round] += ThreadCpuMs() - t0;
    return out;
  };
  auto server_call = [&](auto&& fn) {
    double t0 = ThreadCpuMs();
    auto out = fn();
    server += ThreadCpuMs() - t0;
    return out;
  };

  auto srv = Check(SecAggServer::Create(config), "server");
  std::vector<SecAggClient> clients;
  for (ClientId id = 1; id <= n; ++id) {
    clients.push_back(Check(SecAggClient::Create(config, id), "client"));
    Bytes m = Check(timed_call(id, 0, [&] { return clients.back().AdvertiseKeys(); }), "advertise");
    sent[id] += m.size();
    Check(server_call([&] { return srv.ReceiveAdvertiseKeys(id, m); }), "receive advertise");
  }
  Bytes key_list = Check(server_call([&] { return srv.FinishAdvertiseKeys(); }), "key list");
  for (auto& c : clients) {
    received[c.id()] += key_list.size();
    Bytes m = Check(timed_call(c.id(), 1, [&] { return c.ShareKeys(key_list); }), "share keys");
    sent[c.id()] += m.size();
    Check(server_call([&] { return srv.ReceiveShareKeys(c.id(), m); }), "receive shares");
  }
  auto shares = Check(server_call([&] { return srv.FinishShareKeys(); }), "forward shares");
  std::mt19937 rng(2);
  for (auto& c : clients) {
    if (!timed[c.id()] || drops[c.id()]) continue;
    received[c.id()] += shares.at(c.id()).size();
    std::vector<uint32_t> input = codec.Encode(RandomUpdate(rng, length));
    Bytes m = Check(timed_call(c.id(), 2, [&] { return c.MaskedInput(shares.at(c.id()), input); }),
                    "masked input");
    sent[c.id()] += m.size();
    if (full)
      Check(server_call([&] { return srv.ReceiveMaskedInput(c.id(), m); }), "receive input");
  }
  Bytes request;
  if (full) {
    request = Check(server_call([&] { return srv.FinishMaskedInput(); }), "unmask request");
  } else {
    std::vector<ClientId> everyone;
    for (ClientId id = 1; id <= n; ++id) everyone.push_back(id);
    request = EncodeUnmaskRequest(config.round_id, everyone);
  }
  for (auto& c : clients) {
    if (!timed[c.id()] || drops[c.id()]) continue;
    received[c.id()] += request.size();
    Bytes m = Check(timed_call(c.id(), 3, [&] { return c.Unmask(request); }), "unmask");
    sent[c.id()] += m.size();
    if (full) Check(server_call([&] { return srv.ReceiveUnmask(c.id(), m); }), "receive unmask");
  }
  if (full) {
    Check(server_call([&] { return srv.FinishUnmask(); }), "finish");
    row.server_ms = server;
  }
  for (ClientId id = 1; id <= n; ++id) {
    if (!timed[id] || drops[id]) continue;
    ++row.measured;
    for (int r = 0; r < 4; ++r) row.client_ms[r] += ms[4 * id + r];
    row.sent += sent[id];
    row.received += received[id];
  }
  for (double& v : row.client_ms) v /= row.measured;
  row.sent /= row.measured;
  row.received /= row.measured;
  return row;
}

std::string Bytes(double b) {
  char buf[32];
  if (b >= 1 << 20) {
    std::snprintf(buf, sizeof(buf), "%.2f MiB", b / (1 << 20));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", b / 1024);
  }
  return buf;
}

void Print(const Row& r) {
  double total = r.client_ms[0] + r.client_ms[1] + r.client_ms[2] + r.client_ms[3];
  char server[32] = "not timed";
  if (r.server_ms >= 0) std::snprintf(server, sizeof(server), "%.0f ms", r.server_ms);
  std::printf(
      "| %-7s | %5u | %4u | %3u | %4u | %7u | %9.2f | %7.2f | %7.2f | %8.2f | %7.2f | %10s | %10s "
      "| %9s |\n",
      r.scheme.c_str(), r.n, r.t, r.k, r.dropped, r.measured, total, r.client_ms[0], r.client_ms[1],
      r.client_ms[2], r.client_ms[3], Bytes(r.sent).c_str(), Bytes(r.received).c_str(), server);
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  uint32_t params = 100000, sample = 3;
  double drop = 0.05;
  std::vector<uint32_t> client_counts = {100, 1000};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    if (flag == "--params") {
      params = uint32_t(std::atoi(argv[i + 1]));
    } else if (flag == "--sample") {
      sample = uint32_t(std::atoi(argv[i + 1]));
    } else if (flag == "--drop") {
      drop = std::atof(argv[i + 1]);
    } else if (flag == "--clients") {
      client_counts.clear();
      for (const char* p = argv[i + 1]; *p;) {
        client_counts.push_back(uint32_t(std::strtoul(p, const_cast<char**>(&p), 10)));
        if (*p == ',') ++p;
      }
    } else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }
  std::printf(
      "model: %u parameters, 32-bit fixed point; client CPU ms per round (0 advertise, "
      "1 share, 2 masked input, 3 unmask)\n\n",
      params);
  std::printf(
      "| scheme  |     n |    t |   k | drop | timed   | client ms | r0 ms   | r1 ms   | r2 ms    "
      "| r3 ms   | sent       | received   | server    |\n");
  std::printf(
      "|---------|-------|------|-----|------|---------|-----------|---------|---------|----------|"
      "---------|------------|------------|-----------|\n");
  for (uint32_t n : client_counts) {
    Print(RunPlain(n, params));
    // SecAgg+ neighbourhood: k even, about 2·log2(n), as in Bell et al.'s O(log n).
    uint32_t k = 2 * uint32_t(std::ceil(std::log2(double(n))));
    if (k % 2) ++k;
    Print(RunSecAgg(n, params, k, 0, drop));
    bool full = n <= 200;
    Print(RunSecAgg(n, params, 0, full ? 0 : sample, drop));
  }
  return 0;
}
