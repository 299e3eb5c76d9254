#include "fl/privacy/wire.h"

namespace tern::fl {

static constexpr char kMagic[4] = {'T', 'S', 'A', 'G'};

void ByteWriter::Header(SecAggMessageType type, uint64_t round_id, ClientId sender) {
  Raw(kMagic, 4);
  U8(kSecAggWireVersion);
  U8(static_cast<uint8_t>(type));
  U64(round_id);
  U32(sender);
}

const char* MessageTypeName(SecAggMessageType type) {
  switch (type) {
    case SecAggMessageType::kAdvertiseKeys:
      return "advertise-keys";
    case SecAggMessageType::kKeyList:
      return "key-list";
    case SecAggMessageType::kShareKeys:
      return "share-keys";
    case SecAggMessageType::kSharesForClient:
      return "shares-for-client";
    case SecAggMessageType::kMaskedInput:
      return "masked-input";
    case SecAggMessageType::kUnmaskRequest:
      return "unmask-request";
    case SecAggMessageType::kUnmaskResponse:
      return "unmask-response";
  }
  return "unknown";
}

Result<ClientId> ReadHeader(ByteReader& reader, SecAggMessageType expected, uint64_t round_id) {
  char magic[4];
  reader.Raw(magic, 4);
  uint8_t version = reader.U8();
  uint8_t type = reader.U8();
  uint64_t round = reader.U64();
  ClientId sender = reader.U32();
  std::string what = MessageTypeName(expected);
  if (!reader.ok()) return InvalidArgument(what + " message: truncated header");
  if (std::memcmp(magic, kMagic, 4) != 0) {
    return InvalidArgument(what + " message: not a secure-aggregation message (bad magic)");
  }
  if (version != kSecAggWireVersion) {
    return InvalidArgument(what + " message: wire version " + std::to_string(version) +
                           ", expected " + std::to_string(kSecAggWireVersion));
  }
  if (type != static_cast<uint8_t>(expected)) {
    return InvalidArgument("expected a " + what + " message, got " +
                           MessageTypeName(static_cast<SecAggMessageType>(type)) + " (type " +
                           std::to_string(type) + ")");
  }
  if (round != round_id) {
    return InvalidArgument(what + " message is for round " + std::to_string(round) +
                           ", this is round " + std::to_string(round_id));
  }
  return sender;
}

Status CheckFullyRead(const ByteReader& reader, const char* what) {
  if (!reader.ok()) return InvalidArgument(std::string(what) + " message: truncated");
  if (reader.remaining() != 0) {
    return InvalidArgument(std::string(what) + " message: " + std::to_string(reader.remaining()) +
                           " trailing bytes");
  }
  return Status::Ok();
}

}  // namespace tern::fl
