// vif_table.cpp — see vif_table.hpp.
#include "netlink/vif_table.hpp"

namespace joincast::netlink {

std::optional<unsigned> VifTable::index_of(int ifindex) const {
  if (const Vif* v = find(ifindex)) return v->index;
  return std::nullopt;
}

std::optional<int> VifTable::ifindex_of(unsigned vif) const {
  if (vif < max_vifs && slots_[vif]) return slots_[vif]->ifindex;
  return std::nullopt;
}

const VifTable::Vif* VifTable::find(int ifindex) const {
  for (const auto& s : slots_)
    if (s && s->ifindex == ifindex) return &*s;
  return nullptr;
}

std::optional<unsigned> VifTable::free_index(const std::bitset<max_vifs>& avoid) const {
  for (unsigned i = 0; i < max_vifs; ++i)
    if (!slots_[i] && !avoid.test(i)) return i;
  for (unsigned i = 0; i < max_vifs; ++i)
    if (!slots_[i]) return i;
  return std::nullopt;
}

std::vector<VifTable::Vif> VifTable::list() const {
  std::vector<Vif> out;
  for (const auto& s : slots_)
    if (s) out.push_back(*s);
  return out;
}

Result<unsigned> VifTable::add(MrouteSocket& socket, int ifindex, std::uint8_t threshold,
                               const std::bitset<max_vifs>& avoid) {
  if (const Vif* v = find(ifindex)) return v->index;
  auto index = free_index(avoid);
  if (!index) return Errc::vif_table_full;
  auto r = socket.add_vif(*index, ifindex, threshold);
  if (!r) return r.error();
  slots_[*index] = Vif{*index, ifindex, threshold};
  ++count_;
  return *index;
}

Result<void> VifTable::remove(MrouteSocket& socket, int ifindex) {
  for (auto& s : slots_) {
    if (!s || s->ifindex != ifindex) continue;
    auto r = socket.del_vif(s->index);
    if (!r) return r;
    s.reset();
    --count_;
    return success();
  }
  return success();
}

Result<void> VifTable::restore(MrouteSocket& socket, const Vif& vif) {
  if (vif.index >= max_vifs) return Errc::vif_table_full;
  if (slots_[vif.index]) return errno_error(EADDRINUSE);
  auto r = socket.add_vif(vif.index, vif.ifindex, vif.threshold);
  if (!r) return r;
  slots_[vif.index] = vif;
  ++count_;
  return success();
}

void VifTable::clear() {
  slots_.fill(std::nullopt);
  count_ = 0;
}

}  // namespace joincast::netlink
