// http_client.cpp — see http_client.hpp.
#include "media/source/http/http_client.hpp"

#include <openssl/ssl.h>

namespace joincast::media {

HttpClient::HttpClient(Executor executor, HttpOptions options)
    : executor_(std::move(executor)),
      options_(std::move(options)),
      tls_(std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client)) {}

std::shared_ptr<HttpClient> HttpClient::on(Executor executor) const {
  auto client = std::make_shared<HttpClient>(std::move(executor), options_);
  client->tls_ = tls_;
  return client;
}

Result<std::shared_ptr<HttpClient>> HttpClient::create(Executor executor, HttpOptions options) {
  auto client = std::make_shared<HttpClient>(std::move(executor), std::move(options));
  boost::system::error_code ec;
  auto& tls = *client->tls_;
  tls.set_options(boost::asio::ssl::context::default_workarounds | boost::asio::ssl::context::no_sslv2 |
                      boost::asio::ssl::context::no_sslv3 | boost::asio::ssl::context::no_tlsv1 |
                      boost::asio::ssl::context::no_tlsv1_1,
                  ec);
  if (ec) return std::error_code(ec.value(), std::generic_category());
  tls.set_default_verify_paths(ec);
  if (ec) return std::error_code(ec.value(), std::generic_category());
  if (!client->options_.ca_file.empty()) {
    tls.load_verify_file(client->options_.ca_file, ec);
    if (ec) return errno_error(ENOENT);
  }
  tls.set_verify_mode(client->options_.verify_tls ? boost::asio::ssl::verify_peer : boost::asio::ssl::verify_none);
  return client;
}

}  // namespace joincast::media
