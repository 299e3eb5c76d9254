// The seven secure-aggregation messages as structs, with their encoders and parsers. Parsers
// check the syntax (header, lengths, id ranges, ascending ids without repeats); the client and
// server state machines check the protocol (who may send what, in which round).
#pragma once

#include <vector>

#include "fl/privacy/secagg.h"
#include "fl/privacy/secagg_crypto.h"

namespace tern::fl {

struct AdvertiseKeysMessage {
  ClientId sender = 0;
  Key32 cipher_public_key{};  ///< encrypts the shares sent to this client
  Key32 mask_public_key{};    ///< agrees the pairwise masks
};

struct KeyListMessage {  ///< server → U1
  struct Entry {
    ClientId id = 0;
    Key32 cipher_public_key{};
    Key32 mask_public_key{};
  };
  std::vector<Entry> clients;  ///< ascending ids
};

struct AddressedShare {
  ClientId peer = 0;  ///< recipient (in share-keys) or sender (in shares-for-client)
  ShareCiphertext ciphertext{};
};

struct ShareKeysMessage {  ///< client → server
  ClientId sender = 0;
  std::vector<AddressedShare> shares;  ///< ascending recipients
};

struct SharesForClientMessage {  ///< server → one client of U2
  ClientId recipient = 0;
  std::vector<AddressedShare> shares;  ///< ascending senders
};

struct MaskedInputMessage {
  ClientId sender = 0;
  std::vector<uint32_t> masked;
};

struct UnmaskRequestMessage {
  std::vector<ClientId> survivors;  ///< ascending
};

enum class ShareKind : uint8_t { kSeed = 0, kMaskKey = 1 };
struct UnmaskResponseMessage {
  struct Entry {
    ClientId owner = 0;
    ShareKind kind = ShareKind::kSeed;
    ShamirShare share{};
  };
  ClientId sender = 0;
  std::vector<Entry> entries;  ///< ascending owners
};

Bytes Encode(uint64_t round_id, const AdvertiseKeysMessage& m);
Bytes Encode(uint64_t round_id, const KeyListMessage& m);
Bytes Encode(uint64_t round_id, const ShareKeysMessage& m);
Bytes Encode(uint64_t round_id, const SharesForClientMessage& m);
Bytes Encode(uint64_t round_id, const MaskedInputMessage& m);
Bytes Encode(uint64_t round_id, const UnmaskResponseMessage& m);

/// `num_clients` bounds every client id; `vector_length` is the expected input length.
Result<AdvertiseKeysMessage> ParseAdvertiseKeys(std::span<const uint8_t> bytes,
                                                const SecAggConfig& config);
Result<KeyListMessage> ParseKeyList(std::span<const uint8_t> bytes, const SecAggConfig& config);
Result<ShareKeysMessage> ParseShareKeys(std::span<const uint8_t> bytes, const SecAggConfig& config);
Result<SharesForClientMessage> ParseSharesForClient(std::span<const uint8_t> bytes,
                                                    const SecAggConfig& config);
Result<MaskedInputMessage> ParseMaskedInput(std::span<const uint8_t> bytes,
                                            const SecAggConfig& config);
Result<UnmaskRequestMessage> ParseUnmaskRequest(std::span<const uint8_t> bytes,
                                                const SecAggConfig& config);
Result<UnmaskResponseMessage> ParseUnmaskResponse(std::span<const uint8_t> bytes,
                                                  const SecAggConfig& config);

}  // namespace tern::fl
