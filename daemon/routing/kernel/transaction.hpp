// transaction.hpp — the undo log of one apply of the routing module. In a
// transaction (start, reload, `route add`) the first failure stops the
// apply and every completed step is undone, newest first; in best effort
// (changes the network made) failures are collected and the rest goes on.
#pragma once

#include "common/result.hpp"
#include "netlink/socket.hpp"

#include <functional>
#include <string>
#include <system_error>
#include <vector>

namespace joincast::daemon::routing::kernel {

enum class ApplyMode { transaction, best_effort };

class Transaction {
 public:
  explicit Transaction(ApplyMode mode) : mode_(mode) {}
  void done(std::function<void()> undo) {
    if (mode_ == ApplyMode::transaction) undo_.push_back(std::move(undo));
  }
  // True when the caller must stop and return the error.
  bool failed(const Error& error) {
    failures_.push_back(error);
    return mode_ == ApplyMode::transaction;
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
  // What failed in best effort, for the caller to log.
  const std::vector<Error>& failures() const { return failures_; }

 private:
  ApplyMode mode_;
  std::vector<std::function<void()>> undo_;
  std::vector<std::function<void()>> commit_;
  std::vector<Error> failures_;
};

// An error with the kernel's extended ack text, when the socket has one.
inline std::string error_text(const std::error_code& e, const netlink::NetlinkSocket* nl = nullptr) {
  std::string s = e.message();
  if (nl && !nl->last_error_text().empty()) s += " (" + nl->last_error_text() + ")";
  return s;
}

// Sends one netlink change; when it succeeds, a rollback of `tx` sends the
// message `make_undo` builds.
template <class MakeUndo>
auto send_change(netlink::NetlinkSocket& nl, Transaction& tx, netlink::Message change, MakeUndo make_undo) {
  auto r = nl.request(change);
  if (r) tx.done([&nl, make_undo] { (void)nl.request(make_undo()); });
  return r;
}

}  // namespace joincast::daemon::routing::kernel
