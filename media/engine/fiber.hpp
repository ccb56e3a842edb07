// fiber.hpp — a stackful coroutine, so that libavformat's pull-style
// demuxing can run on a push-style event loop without a thread per stream.
//
// libavformat asks for bytes (the AVIOContext read callback) and expects an
// answer; a live source delivers bytes when they arrive. Returning "no data
// yet" would make a demuxer see end of stream, and blocking would stall
// every other session on the worker thread. Instead each session's demuxer
// runs on a fiber that yields inside the read callback and is resumed when
// bytes arrive: the demuxer sees a blocking read, the thread never blocks.
// This is the approach of QEMU's block layer coroutines (ucontext on a
// private stack) and of SRS's state threads.
//
// Stacks are mmap'ed with a guard page below them; only touched pages use
// memory, and trim() hands back the pages a deep call (opening the
// demuxer) left behind. A fiber runs on one thread; resume() and yield()
// must not cross threads.
#pragma once

#include "media/error.hpp"

#include <ucontext.h>

#include <cstddef>
#include <functional>
#include <memory>

namespace joincast::media {

class Fiber {
 public:
  using Body = std::function<void()>;

  // A fiber that runs body when first resumed. body must not throw.
  static Result<std::unique_ptr<Fiber>> create(Body body, std::size_t stack_bytes = 256 * 1024);
  // Destroying a fiber that has not finished abandons its stack: run it to
  // completion first (the session cancels and resumes it).
  ~Fiber();
  Fiber(const Fiber&) = delete;
  Fiber& operator=(const Fiber&) = delete;

  // Runs the fiber until it yields or its body returns. Not from inside a fiber.
  void resume();
  // From inside the running fiber: back to whoever resumed it.
  static void yield();
  // The fiber running on this thread, or nullptr.
  static Fiber* current();

  bool finished() const { return finished_; }
  bool running() const { return running_; }

  // Returns the stack pages below the point where the fiber is suspended
  // to the kernel (they read back as zeros if touched again). Only while
  // suspended.
  void trim();

 private:
  Fiber() = default;
  static void trampoline();

  Body body_;
  void* mapping_ = nullptr;
  std::size_t mapping_size_ = 0;
  std::size_t guard_ = 0;
  ucontext_t context_{};
  ucontext_t caller_{};
  bool started_ = false;
  bool running_ = false;
  bool finished_ = false;
  char* suspended_at_ = nullptr;  // an address in the fiber's deepest live frame
};

}  // namespace joincast::media
