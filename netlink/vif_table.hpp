// vif_table.hpp — the VIFs (IPv4) or MIFs (IPv6) of one multicast routing
// table, allocated on demand. The kernel has 32 per table (MAXVIFS,
// MAXMIFS), and a daemon usually needs a few of them, so an interface gets
// one only when a route, a template or a membership tap needs it, and
// gives it back when nothing does. Indices stay put while in use: the MFC
// refers to interfaces by VIF index.
#pragma once

#include "netlink/error.hpp"
#include "netlink/mfc.hpp"
#include "netlink/mroute_socket.hpp"

#include <bitset>
#include <cstdint>
#include <optional>
#include <vector>

namespace joincast::netlink {

class VifTable {
 public:
  struct Vif {
    unsigned index = 0;
    int ifindex = 0;
    std::uint8_t threshold = 1;
  };

  std::optional<unsigned> index_of(int ifindex) const;
  std::optional<int> ifindex_of(unsigned vif) const;
  const Vif* find(int ifindex) const;
  // The lowest free index not in `avoid` (indices freed a moment ago, so a
  // stale MFC entry cannot forward to their new owner); nullopt if none.
  std::optional<unsigned> free_index(const std::bitset<max_vifs>& avoid = {}) const;
  std::size_t size() const { return count_; }
  std::vector<Vif> list() const;

  // Creates the VIF in the kernel and records it; Errc::vif_table_full
  // when all 32 are taken.
  Result<unsigned> add(MrouteSocket& socket, int ifindex, std::uint8_t threshold,
                       const std::bitset<max_vifs>& avoid = {});
  // Deletes it in the kernel (already gone with its device is fine).
  Result<void> remove(MrouteSocket& socket, int ifindex);
  // Recreates a VIF at a given index (to undo a removal).
  Result<void> restore(MrouteSocket& socket, const Vif& vif);
  void clear();

 private:
  std::array<std::optional<Vif>, max_vifs> slots_{};
  std::size_t count_ = 0;
};

}  // namespace joincast::netlink
