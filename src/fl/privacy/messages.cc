#include "fl/privacy/messages.h"

#include <string>

#include "fl/privacy/wire.h"

namespace tern::fl {

// ---- encoders ----

Bytes Encode(uint64_t round_id, const AdvertiseKeysMessage& m) {
  ByteWriter w;
  w.Header(SecAggMessageType::kAdvertiseKeys, round_id, m.sender);
  w.Array(m.cipher_public_key);
  w.Array(m.mask_public_key);
  return w.Take();
}

Bytes Encode(uint64_t round_id, const KeyListMessage& m) {
  ByteWriter w;
  w.Reserve(kSecAggHeaderBytes + 4 + m.clients.size() * 68);
  w.Header(SecAggMessageType::kKeyList, round_id, 0);
  w.U32(static_cast<uint32_t>(m.clients.size()));
  for (const auto& e : m.clients) {
    w.U32(e.id);
    w.Array(e.cipher_public_key);
    w.Array(e.mask_public_key);
  }
  return w.Take();
}

static void WriteShares(ByteWriter& w, const std::vector<AddressedShare>& shares) {
  w.U32(static_cast<uint32_t>(shares.size()));
  for (const auto& s : shares) {
    w.U32(s.peer);
    w.Array(s.ciphertext);
  }
}

Bytes Encode(uint64_t round_id, const ShareKeysMessage& m) {
  ByteWriter w;
  w.Reserve(kSecAggHeaderBytes + 4 + m.shares.size() * (4 + kShareCiphertextBytes));
  w.Header(SecAggMessageType::kShareKeys, round_id, m.sender);
  WriteShares(w, m.shares);
  return w.Take();
}

Bytes Encode(uint64_t round_id, const SharesForClientMessage& m) {
  ByteWriter w;
  w.Reserve(kSecAggHeaderBytes + 8 + m.shares.size() * (4 + kShareCiphertextBytes));
  w.Header(SecAggMessageType::kSharesForClient, round_id, 0);
  w.U32(m.recipient);
  WriteShares(w, m.shares);
  return w.Take();
}

Bytes Encode(uint64_t round_id, const MaskedInputMessage& m) {
  ByteWriter w;
  w.Reserve(kSecAggHeaderBytes + 4 + m.masked.size() * 4);
  w.Header(SecAggMessageType::kMaskedInput, round_id, m.sender);
  w.U32(static_cast<uint32_t>(m.masked.size()));
  w.Raw(m.masked.data(), m.masked.size() * 4);
  return w.Take();
}

Bytes Encode(uint64_t round_id, const UnmaskResponseMessage& m) {
  ByteWriter w;
  w.Reserve(kSecAggHeaderBytes + 4 + m.entries.size() * (5 + 8 * kShamirChunks));
  w.Header(SecAggMessageType::kUnmaskResponse, round_id, m.sender);
  w.U32(static_cast<uint32_t>(m.entries.size()));
  for (const auto& e : m.entries) {
    w.U32(e.owner);
    w.U8(static_cast<uint8_t>(e.kind));
    for (uint64_t v : e.share) w.U64(v);
  }
  return w.Take();
}

// ---- parsers ----

namespace {

// Checks one id read from a list: in 1..n and above the previous one (ascending, no repeats).
Status CheckListedId(ClientId id, ClientId previous, const SecAggConfig& config, const char* what) {
  if (id < 1 || id > config.num_clients) {
    return InvalidArgument(std::string(what) + " message: client id " + std::to_string(id) +
                           " outside 1.." + std::to_string(config.num_clients));
  }
  if (id <= previous) {
    return InvalidArgument(std::string(what) + " message: client id " + std::to_string(id) +
                           (id == previous ? " repeated" : " out of order"));
  }
  return Status::Ok();
}

// A client's own message: the header's sender must be a client id.
Result<ClientId> ReadClientHeader(ByteReader& r, SecAggMessageType type,
                                  const SecAggConfig& config) {
  TERN_ASSIGN_OR_RETURN(ClientId sender, ReadHeader(r, type, config.round_id));
  if (sender < 1 || sender > config.num_clients) {
    return InvalidArgument(std::string(MessageTypeName(type)) + " message: sender " +
                           std::to_string(sender) + " is not a client id");
  }
  return sender;
}

Status ReadServerHeader(ByteReader& r, SecAggMessageType type, const SecAggConfig& config) {
  TERN_ASSIGN_OR_RETURN(ClientId sender, ReadHeader(r, type, config.round_id));
  if (sender != 0) {
    return InvalidArgument(std::string(MessageTypeName(type)) +
                           " message: must come from the server (sender 0), not " +
                           std::to_string(sender));
  }
  return Status::Ok();
}

Result<std::vector<AddressedShare>> ReadShares(ByteReader& r, const SecAggConfig& config,
                                               const char* what) {
  uint32_t count = r.U32();
  if (!r.CanHold(count, 4 + kShareCiphertextBytes)) {
    return InvalidArgument(std::string(what) + " message: truncated share list");
  }
  std::vector<AddressedShare> shares(count);
  ClientId previous = 0;
  for (auto& s : shares) {
    s.peer = r.U32();
    r.Array(&s.ciphertext);
    TERN_RETURN_IF_ERROR(CheckListedId(s.peer, previous, config, what));
    previous = s.peer;
  }
  return shares;
}

// Reads a whole message: `body` reads the fields after the header into the message, and the
// message must end exactly where the body stops.
template <typename Message, typename Body>
Result<Message> ParseWhole(std::span<const uint8_t> bytes, const char* what, Body&& body) {
  ByteReader r(bytes);
  Message m;
  TERN_RETURN_IF_ERROR(body(r, m));
  TERN_RETURN_IF_ERROR(CheckFullyRead(r, what));
  return m;
}

}  // namespace

Result<AdvertiseKeysMessage> ParseAdvertiseKeys(std::span<const uint8_t> bytes,
                                                const SecAggConfig& config) {
  return ParseWhole<AdvertiseKeysMessage>(
      bytes, "advertise-keys", [&](ByteReader& r, AdvertiseKeysMessage& m) -> Status {
        TERN_ASSIGN_OR_RETURN(m.sender,
                              ReadClientHeader(r, SecAggMessageType::kAdvertiseKeys, config));
        r.Array(&m.cipher_public_key);
        r.Array(&m.mask_public_key);
        return Status::Ok();
      });
}

Result<KeyListMessage> ParseKeyList(std::span<const uint8_t> bytes, const SecAggConfig& config) {
  return ParseWhole<KeyListMessage>(bytes, "key-list", [&](ByteReader& r, KeyListMessage& m) {
    TERN_RETURN_IF_ERROR(ReadServerHeader(r, SecAggMessageType::kKeyList, config));
    uint32_t count = r.U32();
    if (!r.CanHold(count, 68)) return InvalidArgument("key-list message: truncated");
    m.clients.resize(count);
    ClientId previous = 0;
    for (auto& e : m.clients) {
      e.id = r.U32();
      r.Array(&e.cipher_public_key);
      r.Array(&e.mask_public_key);
      TERN_RETURN_IF_ERROR(CheckListedId(e.id, previous, config, "key-list"));
      previous = e.id;
    }
    return Status::Ok();
  });
}

Result<ShareKeysMessage> ParseShareKeys(std::span<const uint8_t> bytes,
                                        const SecAggConfig& config) {
  return ParseWhole<ShareKeysMessage>(
      bytes, "share-keys", [&](ByteReader& r, ShareKeysMessage& m) -> Status {
        TERN_ASSIGN_OR_RETURN(m.sender, ReadClientHeader(r, SecAggMessageType::kShareKeys, config));
        TERN_ASSIGN_OR_RETURN(m.shares, ReadShares(r, config, "share-keys"));
        return Status::Ok();
      });
}

Result<SharesForClientMessage> ParseSharesForClient(std::span<const uint8_t> bytes,
                                                    const SecAggConfig& config) {
  return ParseWhole<SharesForClientMessage>(
      bytes, "shares-for-client", [&](ByteReader& r, SharesForClientMessage& m) -> Status {
        TERN_RETURN_IF_ERROR(ReadServerHeader(r, SecAggMessageType::kSharesForClient, config));
        m.recipient = r.U32();
        TERN_ASSIGN_OR_RETURN(m.shares, ReadShares(r, config, "shares-for-client"));
        return Status::Ok();
      });
}

Result<MaskedInputMessage> ParseMaskedInput(std::span<const uint8_t> bytes,
                                            const SecAggConfig& config) {
  auto parsed = ParseWhole<MaskedInputMessage>(
      bytes, "masked-input", [&](ByteReader& r, MaskedInputMessage& m) -> Status {
        TERN_ASSIGN_OR_RETURN(m.sender,
                              ReadClientHeader(r, SecAggMessageType::kMaskedInput, config));
        uint32_t length = r.U32();
        if (r.ok() && length != config.vector_length) {
          return InvalidArgument("masked-input message from client " + std::to_string(m.sender) +
                                 ": " + std::to_string(length) + " elements, expected " +
                                 std::to_string(config.vector_length));
        }
        if (!r.CanHold(length, 4)) return InvalidArgument("masked-input message: truncated");
        m.masked.resize(length);
        r.Raw(m.masked.data(), size_t{length} * 4);
        return Status::Ok();
      });
  if (!parsed.ok()) return parsed;
  const uint32_t mask = ModulusMask(config.modulus_bits);
  for (uint32_t w : parsed->masked) {
    if ((w & ~mask) != 0) {
      return InvalidArgument("masked-input message from client " + std::to_string(parsed->sender) +
                             ": element above 2^" + std::to_string(config.modulus_bits));
    }
  }
  return parsed;
}

Result<UnmaskRequestMessage> ParseUnmaskRequest(std::span<const uint8_t> bytes,
                                                const SecAggConfig& config) {
  return ParseWhole<UnmaskRequestMessage>(
      bytes, "unmask-request", [&](ByteReader& r, UnmaskRequestMessage& m) {
        TERN_RETURN_IF_ERROR(ReadServerHeader(r, SecAggMessageType::kUnmaskRequest, config));
        uint32_t count = r.U32();
        if (!r.CanHold(count, 4)) return InvalidArgument("unmask-request message: truncated");
        m.survivors.resize(count);
        ClientId previous = 0;
        for (ClientId& id : m.survivors) {
          id = r.U32();
          TERN_RETURN_IF_ERROR(CheckListedId(id, previous, config, "unmask-request"));
          previous = id;
        }
        return Status::Ok();
      });
}

Result<UnmaskResponseMessage> ParseUnmaskResponse(std::span<const uint8_t> bytes,
                                                  const SecAggConfig& config) {
  return ParseWhole<UnmaskResponseMessage>(
      bytes, "unmask-response", [&](ByteReader& r, UnmaskResponseMessage& m) -> Status {
        TERN_ASSIGN_OR_RETURN(m.sender,
                              ReadClientHeader(r, SecAggMessageType::kUnmaskResponse, config));
        uint32_t count = r.U32();
        if (!r.CanHold(count, 5 + 8 * kShamirChunks)) {
          return InvalidArgument("unmask-response message: truncated");
        }
        m.entries.resize(count);
        ClientId previous = 0;
        for (auto& e : m.entries) {
          e.owner = r.U32();
          uint8_t kind = r.U8();
          for (uint64_t& v : e.share) v = r.U64();
          TERN_RETURN_IF_ERROR(CheckListedId(e.owner, previous, config, "unmask-response"));
          previous = e.owner;
          if (kind > 1) {
            return InvalidArgument("unmask-response message: unknown share kind " +
                                   std::to_string(kind));
          }
          e.kind = static_cast<ShareKind>(kind);
          for (uint64_t v : e.share) {
            if (v >= kShamirPrime) {
              return InvalidArgument("unmask-response message: share out of field");
            }
          }
        }
        return Status::Ok();
      });
}

}  // namespace tern::fl
