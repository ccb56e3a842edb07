// attributes.cpp — see attributes.hpp.
#include "netlink/attributes.hpp"

namespace joincast::netlink {

namespace {

struct ParseContext {
  AttributePolicy policy;
  Attributes* table;
};

// mnl_attr_parse callback: validate, then store. Returning MNL_CB_ERROR
// stops the walk and makes mnl_attr_parse return an error.
int store_attribute(const nlattr* attr, void* data) {
  auto* ctx = static_cast<ParseContext*>(data);
  const std::uint16_t type = mnl_attr_get_type(attr);
  if (type >= ctx->policy.size()) return MNL_CB_OK;
  const AttributeRule& rule = ctx->policy[type];
  if (rule.type == MNL_TYPE_UNSPEC) return MNL_CB_OK;
  if (rule.type == MNL_TYPE_BINARY) {
    const std::uint16_t len = mnl_attr_get_payload_len(attr);
    if (rule.size != 0 && len != rule.size && (rule.other_size == 0 || len != rule.other_size)) return MNL_CB_ERROR;
  } else if (rule.type == MNL_TYPE_NESTED) {
    // mnl_attr_validate accepts an empty nest; a nest must at least hold
    // whole attribute headers, which mnl_attr_parse_nested checks later.
    if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0) return MNL_CB_ERROR;
  } else if (mnl_attr_validate(attr, rule.type) < 0) {
    return MNL_CB_ERROR;
  }
  ctx->table->set(type, attr);
  return MNL_CB_OK;
}

}  // namespace

// libmnl's walk stops quietly at an attribute that overruns its container;
// this one says so, so a truncated message is refused instead of read in
// part.
Result<void> check_layout(std::span<const std::uint8_t> bytes) {
  return for_each_attribute(bytes, [](const nlattr*) -> Result<void> { return success(); });
}

Result<Attributes> parse_attributes(const nlmsghdr* nlh, std::size_t header_size, AttributePolicy policy) {
  if (nlh->nlmsg_len < sizeof(nlmsghdr) || mnl_nlmsg_get_payload_len(nlh) < header_size)
    return Errc::malformed_message;
  const auto* payload = static_cast<const std::uint8_t*>(mnl_nlmsg_get_payload(nlh));
  const std::size_t attrs_at = nl_align(header_size);
  const std::size_t payload_len = mnl_nlmsg_get_payload_len(nlh);
  if (attrs_at < payload_len) {
    if (auto r = check_layout({payload + attrs_at, payload_len - attrs_at}); !r) return r.error();
  }
  Attributes table(policy.empty() ? 0 : policy.size() - 1);
  ParseContext ctx{policy, &table};
  if (mnl_attr_parse(nlh, static_cast<unsigned>(header_size), store_attribute, &ctx) < 0)
    return Errc::malformed_message;
  return table;
}

Result<Attributes> parse_nested(const nlattr* nest, AttributePolicy policy) {
  if (auto r = check_layout(payload_of(nest)); !r) return r.error();
  Attributes table(policy.empty() ? 0 : policy.size() - 1);
  ParseContext ctx{policy, &table};
  if (mnl_attr_parse_nested(nest, store_attribute, &ctx) < 0) return Errc::malformed_message;
  return table;
}

std::optional<std::uint8_t> Attributes::u8(std::uint16_t type) const {
  if (const nlattr* a = get(type)) return mnl_attr_get_u8(a);
  return std::nullopt;
}
std::optional<std::uint16_t> Attributes::u16(std::uint16_t type) const {
  if (const nlattr* a = get(type)) return mnl_attr_get_u16(a);
  return std::nullopt;
}
std::optional<std::uint32_t> Attributes::u32(std::uint16_t type) const {
  if (const nlattr* a = get(type)) return mnl_attr_get_u32(a);
  return std::nullopt;
}
std::optional<std::uint64_t> Attributes::u64(std::uint16_t type) const {
  if (const nlattr* a = get(type)) return mnl_attr_get_u64(a);
  return std::nullopt;
}
std::optional<std::string_view> Attributes::string(std::uint16_t type) const {
  const nlattr* a = get(type);
  if (!a) return std::nullopt;
  // MNL_TYPE_STRING validation guarantees a length, not a terminator.
  const char* s = mnl_attr_get_str(a);
  std::size_t len = mnl_attr_get_payload_len(a);
  while (len > 0 && s[len - 1] == '\0') --len;
  return std::string_view(s, len);
}
std::optional<IpAddress> Attributes::address(std::uint16_t type, int family) const {
  auto b = bytes(type);
  if (b.empty()) return std::nullopt;
  return IpAddress::from_bytes(family, b);
}
std::span<const std::uint8_t> Attributes::bytes(std::uint16_t type) const {
  const nlattr* a = get(type);
  if (!a) return {};
  return {static_cast<const std::uint8_t*>(mnl_attr_get_payload(a)), mnl_attr_get_payload_len(a)};
}

}  // namespace joincast::netlink
