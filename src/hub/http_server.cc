// The only translation unit that includes Boost.Beast (it is slow to compile).
#include "hub/http_server.h"

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdio>
#include <limits>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <type_traits>
#include <vector>

#include "hub/http_util.h"

namespace tern::hub {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using std::chrono::seconds;

// A response body that sends a slice of an open file with pread, 64 KiB at a time.
struct FileSliceBody {
  using value_type = FileSlice;
  static uint64_t size(const value_type& v) { return v.length; }

  class writer {
   public:
    using const_buffers_type = asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(const http::header<isRequest, Fields>&, const value_type& body) : body_(body) {}
    void init(beast::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(beast::error_code& ec) {
      uint64_t remain = body_.length - sent_;
      if (remain == 0) {
        ec = {};
        return boost::none;
      }
      size_t want = static_cast<size_t>(std::min<uint64_t>(remain, buf_.size()));
      ssize_t n;
      do {
        n = ::pread(body_.file->fd(), buf_.data(), want, static_cast<off_t>(body_.offset + sent_));
      } while (n < 0 && errno == EINTR);
      if (n <= 0) {  // error, or the file shrank under us
        ec = beast::errc::make_error_code(beast::errc::io_error);
        return boost::none;
      }
      sent_ += static_cast<uint64_t>(n);
      ec = {};
      return {{asio::const_buffer(buf_.data(), static_cast<size_t>(n)), sent_ < body_.length}};
    }

   private:
    const value_type& body_;
    uint64_t sent_ = 0;
    std::array<char, 65536> buf_;
  };
};

// What the server keeps of a session, plain or TLS.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  /// Runs on the session's strand.
  virtual void Shutdown() = 0;
  virtual asio::any_io_executor executor() = 0;
};

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  HttpHandler* handler = nullptr;
  asio::io_context ioc;
  // The acceptor, the signals and the grace timer are only touched on this strand.
  asio::strand<asio::io_context::executor_type> control = asio::make_strand(ioc);
  tcp::acceptor acceptor{control};
  asio::signal_set signals{control};
  asio::steady_timer grace_timer{control};
  std::atomic<bool> stopping{false};
  std::mutex sessions_mu;
  std::set<std::weak_ptr<SessionBase>, std::owner_less<std::weak_ptr<SessionBase>>> sessions;
  std::optional<asio::ssl::context> tls;  ///< set when serving HTTPS

  void Accept();
  void BeginStop();
  void SessionEnded(const std::weak_ptr<SessionBase>& s);
};

namespace {

// One connection. `Stream` is a plain TCP stream or a TLS stream over one; everything but the
// handshake is the same for both.
template <class Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server) requires std::is_same_v<Stream, PlainStream>
      : stream_(std::move(socket)), server_(server) {}
  Session(tcp::socket socket, asio::ssl::context& tls,
          HttpServer::Impl* server) requires std::is_same_v<Stream, TlsStream>
      : stream_(std::move(socket), tls), server_(server) {}

  void Start() {
    beast::error_code ec;
    auto ep = Lowest().socket().remote_endpoint(ec);
    if (!ec) remote_ = ep.address().to_string() + ":" + std::to_string(ep.port());
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      if constexpr (std::is_same_v<Stream, TlsStream>) {
        self->idle_ = true;  // a stop during the handshake closes at once
        self->Lowest().expires_after(seconds(self->server_->options.header_timeout_s));
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](beast::error_code ec) {
          if (ec) return self->Close();
          self->ReadHead();
        });
      } else {
        self->ReadHead();
      }
    });
  }

  void Shutdown() override {
    shutting_down_ = true;
    if (idle_) Close();
  }

  std::weak_ptr<SessionBase> Weak() {
    return std::static_pointer_cast<SessionBase>(this->shared_from_this());
  }
  asio::any_io_executor executor() override { return stream_.get_executor(); }

 private:
  beast::tcp_stream& Lowest() { return beast::get_lowest_layer(stream_); }

  void ReadHead() {
    if (shutting_down_) return Close();
    idle_ = true;
    head_parser_.emplace();
    head_parser_->header_limit(server_->options.header_limit);
    // Beast checks Content-Length against its default 1 MiB body limit while reading the head;
    // the limit that applies is the handler's, checked in OnHead.
    head_parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
    request_ = HttpRequest();
    Lowest().expires_after(seconds(server_->options.header_timeout_s));
    http::async_read_header(stream_, buffer_, *head_parser_,
                            beast::bind_front_handler(&Session::OnHead, this->shared_from_this()));
  }

  void OnHead(beast::error_code ec, size_t) {
    idle_ = false;
    if (ec == http::error::header_limit) return SendError(431, "request header too large", true);
    if (ec == http::error::body_limit) return SendError(413, "request body too large", true);
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::operation_aborted) {
      return Close();
    }
    if (ec) return SendError(400, "malformed HTTP request", true);

    const auto& h = head_parser_->get();
    request_.method = std::string(h.method_string());
    request_.target = std::string(h.target());
    request_.remote = remote_;
    for (const auto& f : h) {
      std::string name(f.name_string());
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
      auto [it, inserted] = request_.headers.emplace(name, std::string(f.value()));
      if (!inserted) it->second += ", " + std::string(f.value());
    }
    keep_alive_ = h.keep_alive();
    has_body_ = head_parser_->chunked() ||
                (head_parser_->content_length() && *head_parser_->content_length() > 0);

    auto target = ParseTarget(request_.target);
    if (!target.ok()) return SendError(400, target.status().message(), has_body_);
    request_.path = std::move(target->path);
    request_.query = std::move(target->query);

    BodyPlan plan;
    std::optional<HttpResponse> early;
    try {
      early = server_->handler->Admit(request_, &plan);
    } catch (const std::exception& e) {
      early = ErrorResponse(500, "internal error");
    }
    if (early) return Send(std::move(*early), has_body_);

    auto length = head_parser_->content_length();
    if (length && *length > plan.limit) {
      return SendError(413, "request body larger than " + std::to_string(plan.limit) + " bytes",
                       true);
    }
    if (!has_body_) return Dispatch();

    if (request_.Header("expect") == "100-continue") {
      // Tell the client to go ahead, so curl and friends don't wait a second first.
      static const std::string kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
      Lowest().expires_after(seconds(server_->options.write_timeout_s));
      asio::async_write(stream_, asio::buffer(kContinue),
                        [self = this->shared_from_this(), plan](beast::error_code ec, size_t) {
                          if (ec) return self->Close();
                          self->ReadBody(plan);
                        });
      return;
    }
    ReadBody(plan);
  }

  void ReadBody(const BodyPlan& plan) {
    Lowest().expires_after(seconds(server_->options.body_timeout_s));
    if (plan.kind == BodyPlan::Kind::kFile) {
      file_parser_.emplace(std::move(*head_parser_));
      file_parser_->body_limit(plan.limit);
      beast::error_code ec;
      file_parser_->get().body().open(plan.file_path.c_str(), beast::file_mode::write_new, ec);
      if (ec) return SendError(500, "cannot store the upload", true);
      request_.body_file = plan.file_path;
      http::async_read(stream_, buffer_, *file_parser_,
                       beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
    } else {
      string_parser_.emplace(std::move(*head_parser_));
      string_parser_->body_limit(plan.limit);
      http::async_read(stream_, buffer_, *string_parser_,
                       beast::bind_front_handler(&Session::OnBody, this->shared_from_this()));
    }
  }

  void OnBody(beast::error_code ec, size_t) {
    if (file_parser_) file_parser_->get().body().close();
    if (ec == http::error::body_limit) return SendError(413, "request body too large", true);
    if (ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == http::error::partial_message || ec == http::error::end_of_stream) {
      return Close();
    }
    if (ec) return SendError(400, "malformed HTTP request body", true);
    if (string_parser_) {
      request_.body = string_parser_->release().body();
      request_.body_size = request_.body.size();
    } else if (file_parser_) {
      request_.body_size = file_parser_->get().body().size();
    }
    Dispatch();
  }

  void Dispatch() {
    std::optional<HttpResponse> response;
    // A parked request is answered later from another thread; the answer hops back onto this
    // session's strand. The session stays alive through the responder's reference.
    auto respond = [self = this->shared_from_this()](HttpResponse r) {
      asio::post(self->stream_.get_executor(),
                 [self, r = std::move(r)]() mutable { self->Send(std::move(r), false); });
    };
    try {
      response = server_->handler->HandleAsync(request_, std::move(respond));
    } catch (const std::exception& e) {
      response = ErrorResponse(500, "internal error");
    }
    RemoveBodyFile();
    if (response) Send(std::move(*response), false);
  }

  void SendError(int status, const std::string& message, bool close) {
    Send(ErrorResponse(status, message), close);
  }

  template <class Body>
  void FillHeaders(http::response<Body>& res, const HttpResponse& r, bool close) {
    res.result(static_cast<unsigned>(r.status));
    res.version(11);
    res.set(http::field::server, "tern-hub");
    for (const auto& [k, v] : r.headers) res.insert(k, v);
    res.keep_alive(!close);
  }

  void Send(HttpResponse r, bool force_close) {
    const bool close = force_close || !keep_alive_ || shutting_down_;
    head_parser_.reset();
    string_parser_.reset();
    file_parser_.reset();
    Lowest().expires_after(seconds(server_->options.write_timeout_s));
    if (r.omit_body) {
      auto res = std::make_shared<http::response<http::empty_body>>();
      FillHeaders(*res, r, close);
      res->content_length(r.file ? r.file->length : r.body.size());
      Write(res, close);
    } else if (r.file) {
      auto res = std::make_shared<http::response<FileSliceBody>>();
      FillHeaders(*res, r, close);
      res->body() = std::move(*r.file);
      res->prepare_payload();
      Write(res, close);
    } else {
      auto res = std::make_shared<http::response<http::string_body>>();
      FillHeaders(*res, r, close);
      res->body() = std::move(r.body);
      res->prepare_payload();
      Write(res, close);
    }
  }

  template <class Message>
  void Write(std::shared_ptr<Message> res, bool close) {
    http::async_write(stream_, *res,
                      [self = this->shared_from_this(), res, close](beast::error_code ec, size_t) {
                        if (ec || close) return self->Close();
                        self->ReadHead();
                      });
  }

  void RemoveBodyFile() {
    if (!request_.body_file.empty()) {
      ::unlink(request_.body_file.c_str());  // gone already when the handler kept it
      request_.body_file.clear();
    }
  }

  void Close() {
    if (closed_) return;
    closed_ = true;
    RemoveBodyFile();
    beast::error_code ec;
    // TLS sessions end without close_notify: every answer is length-delimited, so a client
    // cannot mistake the cut for the end of a body.
    Lowest().socket().shutdown(tcp::socket::shutdown_both, ec);
    Lowest().close();
    server_->SessionEnded(this->weak_from_this());
  }

  Stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::empty_body>> head_parser_;
  std::optional<http::request_parser<http::string_body>> string_parser_;
  std::optional<http::request_parser<http::file_body>> file_parser_;
  HttpRequest request_;
  std::string remote_;
  bool keep_alive_ = true;
  bool has_body_ = false;
  bool idle_ = false;
  bool shutting_down_ = false;
  bool closed_ = false;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping) return;
      // Out of descriptors and the like: keep accepting after the failure passes.
      return Accept();
    }
    auto start = [this](auto session) {
      {
        std::lock_guard<std::mutex> lock(sessions_mu);
        sessions.insert(session->Weak());
      }
      session->Start();
    };
    if (tls) {
      start(std::make_shared<Session<TlsStream>>(std::move(socket), *tls, this));
    } else {
      start(std::make_shared<Session<PlainStream>>(std::move(socket), this));
    }
    if (!stopping) Accept();
  });
}

void HttpServer::Impl::BeginStop() {
  if (stopping.exchange(true)) return;
  beast::error_code ec;
  acceptor.close(ec);
  signals.cancel(ec);
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard<std::mutex> lock(sessions_mu);
    for (const auto& w : sessions) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  handler->Stopping();  // parked long-polls answer now instead of at their deadline
  if (live.empty()) return;
  for (auto& s : live) {
    // Each session's own strand: Shutdown touches its state.
    asio::post(s->executor(), [s] { s->Shutdown(); });
  }
  grace_timer.expires_after(seconds(options.shutdown_grace_s));
  grace_timer.async_wait([this](beast::error_code ec) {
    if (!ec) ioc.stop();  // requests still running after the grace period are cut off
  });
}

void HttpServer::Impl::SessionEnded(const std::weak_ptr<SessionBase>& s) {
  bool last = false;
  {
    std::lock_guard<std::mutex> lock(sessions_mu);
    sessions.erase(s);
    last = sessions.empty();
  }
  if (last && stopping) {
    asio::post(control, [this] { grace_timer.cancel(); });
  }
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const HttpServerOptions& options,
                                                      HttpHandler* handler) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->handler = handler;
  beast::error_code ec;
  if (!options.tls_cert_file.empty() || !options.tls_key_file.empty()) {
    if (options.tls_cert_file.empty() || options.tls_key_file.empty()) {
      return InvalidArgument("TLS needs both a certificate and a key file");
    }
    auto& tls = impl->tls.emplace(asio::ssl::context::tls_server);
    // TLS 1.2 and newer only; the certificate file may hold the chain (leaf first).
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                        asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use,
                    ec);
    if (!ec) tls.use_certificate_chain_file(options.tls_cert_file, ec);
    if (ec)
      return InvalidArgument("TLS certificate " + options.tls_cert_file + ": " + ec.message());
    tls.use_private_key_file(options.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) return InvalidArgument("TLS key " + options.tls_key_file + ": " + ec.message());
  }
  auto address = asio::ip::make_address(options.host, ec);
  if (ec) return InvalidArgument("bad listen address " + options.host + ": " + ec.message());
  tcp::endpoint endpoint(address, options.port);
  auto& acc = impl->acceptor;
  acc.open(endpoint.protocol(), ec);
  if (!ec) acc.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(endpoint, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return IoError("cannot listen on " + options.host + ":" + std::to_string(options.port) + ": " +
                   ec.message());
  }
  if (options.stop_on_signals) {
    impl->signals.add(SIGTERM, ec);
    impl->signals.add(SIGINT, ec);
    Impl* raw = impl.get();
    impl->signals.async_wait([raw](beast::error_code ec, int) {
      if (!ec) raw->BeginStop();
    });
  }
  impl->Accept();
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto ep = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::Run() {
  std::vector<std::thread> pool;
  for (int i = 1; i < std::max(1, impl_->options.threads); ++i) {
    pool.emplace_back([this] { impl_->ioc.run(); });
  }
  impl_->ioc.run();
  for (auto& t : pool) t.join();
}

void HttpServer::Stop() {
  asio::post(impl_->control, [impl = impl_.get()] { impl->BeginStop(); });
}

}  // namespace tern::hub
