// subscription.hpp — the handle a module keeps while it is subscribed to
// another (the LinkWatcher's link changes, routing's membership tap):
// dropping or resetting it unsubscribes, and it is harmless when the owner
// has gone first (it holds only a weak_ptr to it).
#pragma once

#include <cstdint>
#include <memory>
#include <utility>

namespace joincast::daemon::core {

// Owner has `void unsubscribe(std::uint64_t id)` (public, or this a friend).
template <class Owner>
class Subscription {
 public:
  Subscription() = default;
  Subscription(std::weak_ptr<Owner*> owner, std::uint64_t id) : owner_(std::move(owner)), id_(id) {}
  Subscription(Subscription&& o) noexcept : owner_(std::move(o.owner_)), id_(o.id_) { o.id_ = 0; }
  Subscription& operator=(Subscription&& o) noexcept {
    if (this != &o) {
      reset();
      owner_ = std::move(o.owner_);
      id_ = o.id_;
      o.id_ = 0;
    }
    return *this;
  }
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription() { reset(); }

  void reset() {
    if (id_ == 0) return;
    if (auto owner = owner_.lock()) (*owner)->unsubscribe(id_);
    id_ = 0;
    owner_.reset();
  }
  explicit operator bool() const { return id_ != 0; }

 private:
  std::weak_ptr<Owner*> owner_;
  std::uint64_t id_ = 0;
};

}  // namespace joincast::daemon::core
