-- Wireshark dissector for the vswitch wire protocol (docs/protocol.md), versions 1 and 2.
--
--   tshark -X lua_script:contrib/wireshark/vswitch.lua -r capture.pcap
--   (or copy it to ~/.local/lib/wireshark/plugins/)
--
-- Decodes every message's fixed fields: version, type, indices, counter, lengths. v1 DATA
-- carries a plaintext Ethernet frame, handed to Wireshark's own Ethernet dissector; v2 DATA
-- and CONTROL are ciphertext and a tag (hop-by-hop keys never leave the endpoints). UDP port
-- 9797 by default; change it under Preferences > Protocols > VSWITCH, or "Decode As".

local vswitch = Proto("vswitch", "vswitch layer-2 VPN")

local versions = { [1] = "1 (insecure)", [2] = "2 (Noise IKpsk2)" }
local v1_types = { [1] = "HELLO", [2] = "WELCOME", [3] = "KEEPALIVE", [4] = "DATA", [5] = "BYE", [6] = "CHALLENGE" }
local v2_types = { [1] = "INITIATION", [2] = "RESPONSE", [3] = "COOKIE REPLY", [4] = "DATA", [5] = "CONTROL" }
local v1_bye_reasons = {
  [0] = "leaving", [1] = "unknown_session", [2] = "timed_out", [3] = "authentication_required", [4] = "insecure_only",
}

local f = vswitch.fields
f.version = ProtoField.uint8("vswitch.version", "Version", base.DEC, versions)
f.type = ProtoField.uint8("vswitch.type", "Type", base.DEC)
f.type_name = ProtoField.string("vswitch.type_name", "Message")
f.flags = ProtoField.uint8("vswitch.flags", "Flags (v1)", base.HEX)
f.reserved = ProtoField.bytes("vswitch.reserved", "Reserved")
f.length = ProtoField.uint16("vswitch.length", "Message length (v2)", base.DEC)
f.sender = ProtoField.uint32("vswitch.sender_index", "Sender index", base.HEX)
f.receiver = ProtoField.uint32("vswitch.receiver_index", "Receiver index", base.HEX)
f.counter = ProtoField.uint64("vswitch.counter", "Counter", base.DEC)
f.network = ProtoField.uint64("vswitch.network", "Network id", base.DEC)
f.mtu = ProtoField.uint16("vswitch.mtu", "MTU", base.DEC)
f.token = ProtoField.bytes("vswitch.token", "Token")
f.reason = ProtoField.uint8("vswitch.bye_reason", "BYE reason", base.DEC, v1_bye_reasons)
f.frame_len = ProtoField.uint32("vswitch.frame_length", "Frame length", base.DEC)
f.ephemeral = ProtoField.bytes("vswitch.ephemeral", "Ephemeral public key")
f.static = ProtoField.bytes("vswitch.encrypted_static", "Encrypted static key")
f.payload = ProtoField.bytes("vswitch.encrypted_payload", "Encrypted payload")
f.mac1 = ProtoField.bytes("vswitch.mac1", "mac1")
f.mac2 = ProtoField.bytes("vswitch.mac2", "mac2")
f.nonce = ProtoField.bytes("vswitch.nonce", "Nonce")
f.cookie = ProtoField.bytes("vswitch.encrypted_cookie", "Encrypted cookie")
f.ciphertext_len = ProtoField.uint32("vswitch.ciphertext_length", "Ciphertext length", base.DEC)
f.ciphertext = ProtoField.bytes("vswitch.ciphertext", "Ciphertext")
f.tag = ProtoField.bytes("vswitch.tag", "Tag")
f.keepalive = ProtoField.bool("vswitch.keepalive", "Keepalive (empty DATA)")

local e_length = ProtoExpert.new("vswitch.bad_length", "Length does not fit the message type", expert.group.MALFORMED,
  expert.severity.ERROR)
local e_version = ProtoExpert.new("vswitch.bad_version", "Unknown version", expert.group.MALFORMED, expert.severity.WARN)
vswitch.experts = { e_length, e_version }

vswitch.prefs.port = Pref.uint("UDP port", 9797, "The server's UDP port")

local eth = Dissector.get("eth_withoutfcs")
local HEADER = 16 -- VSWITCH_DATA_HEADER_SIZE (include/vswitch/wire_abi.h)
local TAG = 16    -- VSWITCH_TAG_SIZE

-- Adds fields at fixed offsets: each item is {field, offset, size}.
local function add_fields(tree, buf, items)
  for _, it in ipairs(items) do tree:add(it[1], buf(it[2], it[3])) end
end

-- The fixed sizes of messages that have one; a mismatch is flagged, not trusted.
local v1_sizes = { [1] = 32, [2] = 24, [3] = 16, [5] = 12, [6] = 16 }
local v2_sizes = { [1] = 160, [2] = 96, [3] = 64 }

local function dissect_v1(buf, pinfo, tree, root)
  local t = buf(1, 1):uint()
  local len = buf:len()
  local want = v1_sizes[t]
  if (want and len ~= want) or (t == 4 and len < HEADER) then
    tree:add_proto_expert_info(e_length)
    return
  end
  if t == 1 then
    add_fields(tree, buf, { { f.sender, 4, 4 }, { f.network, 8, 8 }, { f.mtu, 16, 2 }, { f.token, 24, 8 } })
  elseif t == 2 then
    add_fields(tree, buf, { { f.receiver, 4, 4 }, { f.sender, 8, 4 }, { f.network, 12, 8 }, { f.mtu, 20, 2 } })
  elseif t == 6 then
    add_fields(tree, buf, { { f.receiver, 4, 4 }, { f.token, 8, 8 } })
  elseif t == 5 then
    add_fields(tree, buf, { { f.receiver, 4, 4 }, { f.reason, 8, 1 } })
  elseif t == 3 or t == 4 then
    add_fields(tree, buf, { { f.flags, 2, 1 }, { f.receiver, 4, 4 }, { f.counter, 8, 8 } })
    if t == 4 then
      tree:add(f.frame_len, len - HEADER):set_generated()
      if len > HEADER then
        eth:call(buf(HEADER):tvb(), pinfo, root)
      end
    end
  end
end

local function dissect_v2(buf, pinfo, tree)
  local t = buf(1, 1):uint()
  local len = buf:len()
  local want = v2_sizes[t]
  if (want and len ~= want) or ((t == 4 or t == 5) and len < HEADER + TAG) then
    tree:add_proto_expert_info(e_length)
    return
  end
  if t == 1 then
    add_fields(tree, buf, { { f.sender, 4, 4 }, { f.ephemeral, 8, 32 }, { f.static, 40, 48 }, { f.payload, 88, 40 },
      { f.mac1, 128, 16 }, { f.mac2, 144, 16 } })
  elseif t == 2 then
    add_fields(tree, buf, { { f.sender, 4, 4 }, { f.receiver, 8, 4 }, { f.ephemeral, 12, 32 }, { f.payload, 44, 20 },
      { f.mac1, 64, 16 }, { f.mac2, 80, 16 } })
  elseif t == 3 then
    add_fields(tree, buf, { { f.receiver, 4, 4 }, { f.nonce, 8, 24 }, { f.cookie, 32, 32 } })
  elseif t == 4 or t == 5 then
    local item = tree:add(f.length, buf(2, 2))
    if buf(2, 2):uint() ~= len then item:add_proto_expert_info(e_length) end
    add_fields(tree, buf, { { f.receiver, 4, 4 }, { f.counter, 8, 8 } })
    local n = len - HEADER - TAG
    tree:add(f.ciphertext_len, n):set_generated()
    if n > 0 then tree:add(f.ciphertext, buf(HEADER, n)) end
    tree:add(f.tag, buf(HEADER + n, TAG))
    if t == 4 then tree:add(f.keepalive, n == 0):set_generated() end
  end
end

function vswitch.dissector(buf, pinfo, root)
  if buf:len() < 4 then return 0 end
  local version = buf(0, 1):uint()
  local t = buf(1, 1):uint()
  local names = version == 1 and v1_types or version == 2 and v2_types or nil
  pinfo.cols.protocol = "VSWITCH"
  local tree = root:add(vswitch, buf(), "vswitch")
  tree:add(f.version, buf(0, 1))
  tree:add(f.type, buf(1, 1))
  if names == nil then
    tree:add_proto_expert_info(e_version)
    return buf:len()
  end
  local name = names[t] or ("unknown type " .. t)
  tree:add(f.type_name, name):set_generated()
  tree:append_text(string.format(" v%d %s", version, name))
  pinfo.cols.info = string.format("v%d %s, %d bytes", version, name, buf:len())
  if version == 1 then dissect_v1(buf, pinfo, tree, root) else dissect_v2(buf, pinfo, tree) end
  return buf:len()
end

local registered_port = nil
local function register_port()
  local udp = DissectorTable.get("udp.port")
  if registered_port then udp:remove(registered_port, vswitch) end
  registered_port = vswitch.prefs.port
  udp:add(registered_port, vswitch)
end
vswitch.prefs_changed = register_port
register_port()
