// media_fiber_test.cpp — fibers: a body that yields comes back where it
// left off, with its stack intact; finished fibers stay finished; trimming
// a suspended fiber's stack keeps what it still uses.
#include "media/engine/fiber.hpp"

#include <doctest/doctest.h>

#include <cstring>
#include <numeric>
#include <vector>

using namespace joincast::media;

TEST_CASE("a fiber runs until it yields and resumes where it left off") {
  std::vector<int> trace;
  auto f = Fiber::create([&] {
    trace.push_back(1);
    Fiber::yield();
    trace.push_back(2);
    Fiber::yield();
    trace.push_back(3);
  });
  REQUIRE(f);
  auto& fiber = *f.value();
  CHECK(Fiber::current() == nullptr);
  fiber.resume();
  CHECK(trace == std::vector<int>{1});
  CHECK_FALSE(fiber.finished());
  fiber.resume();
  CHECK(trace == std::vector<int>{1, 2});
  fiber.resume();
  CHECK(trace == std::vector<int>{1, 2, 3});
  CHECK(fiber.finished());
  fiber.resume();  // a finished fiber does nothing
  CHECK(trace.size() == 3);
}

TEST_CASE("locals on the fiber's stack survive yields and a trim") {
  long sum = 0;
  auto f = Fiber::create([&] {
    // Go deep first (like a demuxer opening), then keep a frame alive.
    auto deep = [](auto& self, int depth) -> long {
      char pad[1024];
      std::memset(pad, depth, sizeof pad);
      return depth == 0 ? pad[0] : pad[1] + self(self, depth - 1);
    };
    sum = deep(deep, 32);
    std::vector<int> live(100);
    std::iota(live.begin(), live.end(), 0);
    int local[256];
    for (int i = 0; i < 256; ++i) local[i] = i * 3;
    Fiber::yield();
    long check = 0;
    for (int i = 0; i < 256; ++i) check += local[i];
    sum = check + std::accumulate(live.begin(), live.end(), 0L);
  });
  REQUIRE(f);
  f.value()->resume();
  CHECK(sum == 528);  // 32 + 31 + ... + 1
  f.value()->trim();  // drops the deep pages, not the live frame
  f.value()->resume();
  CHECK(f.value()->finished());
  CHECK(sum == 3 * 255 * 256 / 2 + 99 * 100 / 2);
}

TEST_CASE("current() names the running fiber only while it runs") {
  Fiber* seen = nullptr;
  auto f = Fiber::create([&] { seen = Fiber::current(); });
  REQUIRE(f);
  f.value()->resume();
  CHECK(seen == f.value().get());
  CHECK(Fiber::current() == nullptr);
}
