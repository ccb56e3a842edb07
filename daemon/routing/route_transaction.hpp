// route_transaction.hpp — the undo log of one RouteController::apply()
// (private to daemon/routing/): a transaction stops at the first failure
// and undoes every completed step, newest first; best effort collects the
// failures and goes on. Included by the route_controller*.cpp files only.
#pragma once

#include "daemon/routing/route_controller.hpp"
#include "netlink/socket.hpp"

#include <functional>
#include <string>
#include <system_error>
#include <vector>

namespace joincast::daemon {

// An error with the kernel's extended ack text, when the socket has one.
inline std::string error_text(const std::error_code& e, const netlink::NetlinkSocket* nl = nullptr) {
  std::string s = e.message();
  if (nl && !nl->last_error_text().empty()) s += " (" + nl->last_error_text() + ")";
  return s;
}

class RouteController::Transaction {
 public:
  explicit Transaction(Mode mode) : mode_(mode) {}
  void done(std::function<void()> undo) {
    if (mode_ == Mode::transaction) undo_.push_back(std::move(undo));
  }
  // True when the caller must stop and return the message.
  bool failed(const std::string& message) {
    failures_.push_back(message);
    return mode_ == Mode::transaction;
  }
  void after_commit(std::function<void()> f) { commit_.push_back(std::move(f)); }
  void rollback() {
    for (auto it = undo_.rbegin(); it != undo_.rend(); ++it) (*it)();
    undo_.clear();
    commit_.clear();
  }
  void commit() {
    for (auto& f : commit_) f();
    commit_.clear();
  }
  const std::vector<std::string>& failures() const { return failures_; }

 private:
  Mode mode_;
  std::vector<std::function<void()>> undo_;
  std::vector<std::function<void()>> commit_;
  std::vector<std::string> failures_;
};

template <class MakeUndo>
Result<void> RouteController::send_change(Transaction& tx, netlink::Message change, MakeUndo make_undo) {
  auto r = netlink_->request(change);
  if (r) tx.done([this, make_undo] { (void)netlink_->request(make_undo()); });
  return r;
}
}  // namespace joincast::daemon
