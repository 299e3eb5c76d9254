// Little-endian byte writer and bounds-checked reader for the secure-aggregation messages, and
// the common header every message starts with:
//   "TSAG" | version u8 | type u8 | round_id u64 | sender u32   (18 bytes)
// The server sends as client 0.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "fl/privacy/secagg.h"

namespace tern::fl {

constexpr uint8_t kSecAggWireVersion = 1;
constexpr size_t kSecAggHeaderBytes = 18;

class ByteWriter {
 public:
  void U8(uint8_t v) { out_.push_back(v); }
  void U32(uint32_t v) { Raw(&v, 4); }
  void U64(uint64_t v) { Raw(&v, 8); }
  void Raw(const void* data, size_t size) {
    const uint8_t* p = static_cast<const uint8_t*>(data);
    out_.insert(out_.end(), p, p + size);
  }
  template <size_t N>
  void Array(const std::array<uint8_t, N>& a) {
    Raw(a.data(), N);
  }
  void Header(SecAggMessageType type, uint64_t round_id, ClientId sender);
  void Reserve(size_t n) { out_.reserve(n); }
  Bytes Take() { return std::move(out_); }

 private:
  static_assert(std::endian::native == std::endian::little, "the wire format is little-endian");
  Bytes out_;
};

/// Reads fields in order; the first read past the end sets an error and every later read
/// returns zeros, so a parser checks ok() once at the end (and before using counts).
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> data) : data_(data) {}
  uint8_t U8() {
    uint8_t v = 0;
    Raw(&v, 1);
    return v;
  }
  uint32_t U32() {
    uint32_t v = 0;
    Raw(&v, 4);
    return v;
  }
  uint64_t U64() {
    uint64_t v = 0;
    Raw(&v, 8);
    return v;
  }
  void Raw(void* out, size_t size) {
    if (!ok_ || data_.size() - pos_ < size) {
      ok_ = false;
      std::memset(out, 0, size);
      return;
    }
    std::memcpy(out, data_.data() + pos_, size);
    pos_ += size;
  }
  template <size_t N>
  void Array(std::array<uint8_t, N>* a) {
    Raw(a->data(), N);
  }
  size_t remaining() const { return ok_ ? data_.size() - pos_ : 0; }
  bool ok() const { return ok_; }
  /// True when a count of `count` items of `item_bytes` each can still fit: checked before
  /// allocating for a count read from the wire.
  bool CanHold(uint64_t count, size_t item_bytes) const {
    return ok_ && count <= remaining() / item_bytes;
  }

 private:
  std::span<const uint8_t> data_;
  size_t pos_ = 0;
  bool ok_ = true;
};

/// Reads and checks the header: magic, version, expected type and round; returns the sender.
Result<ClientId> ReadHeader(ByteReader& reader, SecAggMessageType expected, uint64_t round_id);
/// Fails unless the reader consumed the whole message exactly.
Status CheckFullyRead(const ByteReader& reader, const char* what);

const char* MessageTypeName(SecAggMessageType type);

}  // namespace tern::fl
