// Reading keys and members from disk, for the programs' setup code. Parsing is in keys.hpp and
// members.hpp; this file adds what only a file has: a path for messages, a size limit, and
// permissions (a private key readable by others is only half a secret).
#pragma once

#include <string>
#include <vector>

#include "vswitch/keys.hpp"
#include "vswitch/members.hpp"
#include "vswitch/result.hpp"

namespace vswitch {

// One line of base64 as `vswitchctl genkey` or `wg genkey` writes it; one trailing newline or
// blank is allowed. When the file is accessible to group or others, `warning` says so (and how
// to fix it) and the key is still returned: refusing would break a running setup on upgrade.
Result<PrivateKey> load_private_key_file(const std::string& path, std::string& warning);

// Errors name the line as "<path>:<line>: ...".
Result<std::vector<Member>> load_members_file(const std::string& path);

}  // namespace vswitch
