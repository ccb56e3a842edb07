// fiber.cpp — ucontext fibers on guarded mmap stacks.
#include "media/engine/fiber.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <exception>

namespace joincast::media {

namespace {
thread_local Fiber* t_current = nullptr;
thread_local Fiber* t_starting = nullptr;

std::size_t page_size() {
  static const auto size = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return size;
}
}  // namespace

Result<std::unique_ptr<Fiber>> Fiber::create(Body body, std::size_t stack_bytes) {
  std::unique_ptr<Fiber> f(new Fiber);
  f->body_ = std::move(body);
  std::size_t page = page_size();
  f->guard_ = page;
  f->mapping_size_ = (stack_bytes + page - 1) / page * page + f->guard_;
  // MAP_NORESERVE: untouched stack costs address space only.
  void* m = mmap(nullptr, f->mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_STACK,
                 -1, 0);
  if (m == MAP_FAILED) return last_error();
  f->mapping_ = m;
  // The lowest page stays inaccessible: an overflow faults instead of
  // silently writing into whatever lies below.
  if (mprotect(m, f->guard_, PROT_NONE) != 0) return last_error();
  if (getcontext(&f->context_) != 0) return last_error();
  f->context_.uc_stack.ss_sp = static_cast<char*>(m) + f->guard_;
  f->context_.uc_stack.ss_size = f->mapping_size_ - f->guard_;
  f->context_.uc_link = &f->caller_;
  makecontext(&f->context_, &Fiber::trampoline, 0);
  return f;
}

Fiber::~Fiber() {
  if (mapping_) munmap(mapping_, mapping_size_);
}

Fiber* Fiber::current() { return t_current; }

void Fiber::trampoline() {
  Fiber* self = t_starting;
  t_starting = nullptr;
  try {
    self->body_();
  } catch (...) {
    // A body must not throw; there is nobody to catch it on this stack.
    std::terminate();
  }
  self->finished_ = true;
  // Returning switches to uc_link, the caller of the last resume().
}

void Fiber::resume() {
  if (finished_ || running_ || t_current) return;
  running_ = true;
  t_current = this;
  if (!started_) {
    started_ = true;
    t_starting = this;
  }
  swapcontext(&caller_, &context_);
  t_current = nullptr;
  running_ = false;
}

void Fiber::yield() {
  Fiber* self = t_current;
  if (!self) return;
  char marker = 0;
  self->suspended_at_ = &marker;
  t_current = nullptr;
  swapcontext(&self->context_, &self->caller_);
  t_current = self;
  self->suspended_at_ = nullptr;
}

void Fiber::trim() {
  if (running_ || finished_ || !started_ || !suspended_at_) return;
  // Keep a margin under the suspended frame: yield()'s own frame and
  // swapcontext's live just below the marker (the registers are saved in
  // the ucontext, not on the stack).
  constexpr std::size_t kMargin = 4 * 1024;
  auto lowest = reinterpret_cast<std::uintptr_t>(mapping_) + guard_;
  auto at = reinterpret_cast<std::uintptr_t>(suspended_at_);
  if (at < lowest + kMargin) return;
  std::uintptr_t end = (at - kMargin) & ~(static_cast<std::uintptr_t>(page_size()) - 1);
  if (end > lowest) madvise(reinterpret_cast<void*>(lowest), end - lowest, MADV_DONTNEED);
}

}  // namespace joincast::media
