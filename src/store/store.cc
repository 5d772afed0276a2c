#include "store/store.h"

namespace triggerd::store {

// Mirror any change in the CHECK constraint of api_keys.role (store/schema/001_init.sql).
std::string_view RoleName(Role role) {
  switch (role) {
    case Role::kAdmin:
      return "admin";
    case Role::kBuilder:
      return "builder";
    case Role::kUser:
      return "user";
  }
  return "user";  // unreachable for a valid enum value; the least privileged name is the safe one
}

std::optional<Role> ParseRole(std::string_view name) {
  if (name == "admin") return Role::kAdmin;
  if (name == "builder") return Role::kBuilder;
  if (name == "user") return Role::kUser;
  return std::nullopt;
}

}  // namespace triggerd::store
