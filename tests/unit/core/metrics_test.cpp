// metrics_test.cpp — the Prometheus text format as scrapers parse it.
#include "daemon/core/metrics.hpp"

#include <doctest/doctest.h>

using namespace joincast::daemon;

TEST_CASE("one HELP and TYPE per family with escaped labels and integers without exponent") {
  core::MetricsWriter w;
  w.gauge("joincast_listeners", "Listeners per interface.", 3, {{"interface", "br0"}});
  w.gauge("joincast_listeners", "Listeners per interface.", 1, {{"interface", "we\"ird\\\n"}});
  w.counter("joincast_bytes_total", "Bytes.", 12345678901.0);
  CHECK(w.text() ==
        "# HELP joincast_bytes_total Bytes.\n"
        "# TYPE joincast_bytes_total counter\n"
        "joincast_bytes_total 12345678901\n"
        "# HELP joincast_listeners Listeners per interface.\n"
        "# TYPE joincast_listeners gauge\n"
        "joincast_listeners{interface=\"br0\"} 3\n"
        "joincast_listeners{interface=\"we\\\"ird\\\\\\n\"} 1\n");
}

TEST_CASE("listen addresses") {
  boost::asio::ip::tcp::endpoint ep;
  CHECK(core::parse_endpoint("127.0.0.1:9185", ep));
  CHECK(ep.port() == 9185);
  CHECK(core::parse_endpoint("[::1]:9185", ep));
  CHECK(ep.address().is_v6());
  CHECK_FALSE(core::parse_endpoint("localhost:9185", ep));
  CHECK_FALSE(core::parse_endpoint("127.0.0.1", ep));
  CHECK_FALSE(core::parse_endpoint("127.0.0.1:0", ep));
  CHECK_FALSE(core::parse_endpoint("127.0.0.1:70000", ep));
}
