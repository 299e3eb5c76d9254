#include "fleet/delta.h"

#include <zstd.h>

#include <algorithm>
#include <memory>

namespace tern::fleet {
namespace {

// zstd's largest window on every platform (its own constant is in the static-only API).
constexpr int kMaxWindowLog = 30;

// A window that covers the whole base plus the target, so every match in the base is reachable.
int WindowLog(uint64_t bytes) {
  int log = 10;
  while (log < kMaxWindowLog && (uint64_t{1} << log) < bytes) ++log;
  return log;
}

struct CCtxDeleter {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxDeleter {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

}  // namespace

Result<std::string> MakeDelta(const std::string& base, const std::string& target, int level) {
  if (base.size() > kMaxDeltaFileBytes || target.size() > kMaxDeltaFileBytes)
    return InvalidArgument("delta: files larger than " + std::to_string(kMaxDeltaFileBytes >> 20) +
                           " MiB are sent whole");
  std::unique_ptr<ZSTD_CCtx, CCtxDeleter> c(ZSTD_createCCtx());
  if (!c) return Internal("delta: ZSTD_createCCtx failed");
  const int wlog = WindowLog(base.size() + target.size());
  size_t rc = ZSTD_CCtx_setParameter(c.get(), ZSTD_c_compressionLevel, level);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(c.get(), ZSTD_c_windowLog, wlog);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_setParameter(c.get(), ZSTD_c_enableLongDistanceMatching, 1);
  if (!ZSTD_isError(rc)) rc = ZSTD_CCtx_refPrefix(c.get(), base.data(), base.size());
  if (ZSTD_isError(rc)) return Internal(std::string("delta: ") + ZSTD_getErrorName(rc));
  std::string out(ZSTD_compressBound(target.size()), '\0');
  rc = ZSTD_compress2(c.get(), out.data(), out.size(), target.data(), target.size());
  if (ZSTD_isError(rc)) return Internal(std::string("delta: ") + ZSTD_getErrorName(rc));
  out.resize(rc);
  return out;
}

Result<std::string> ApplyDelta(const std::string& base, const std::string& patch,
                               uint64_t expected_size) {
  if (expected_size > kMaxDeltaFileBytes || base.size() > kMaxDeltaFileBytes)
    return InvalidArgument("delta: file too large for a patch");
  std::unique_ptr<ZSTD_DCtx, DCtxDeleter> d(ZSTD_createDCtx());
  if (!d) return Internal("delta: ZSTD_createDCtx failed");
  size_t rc = ZSTD_DCtx_setParameter(d.get(), ZSTD_d_windowLogMax, kMaxWindowLog);
  if (!ZSTD_isError(rc)) rc = ZSTD_DCtx_refPrefix(d.get(), base.data(), base.size());
  if (ZSTD_isError(rc)) return Internal(std::string("delta: ") + ZSTD_getErrorName(rc));
  // One byte of room beyond the expected size tells "too long" apart from "exactly right".
  std::string out(static_cast<size_t>(expected_size) + 1, '\0');
  ZSTD_inBuffer in{patch.data(), patch.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t left = 1;
  while (in.pos < in.size || left != 0) {
    const size_t before_in = in.pos, before_out = o.pos;
    left = ZSTD_decompressStream(d.get(), &o, &in);
    if (ZSTD_isError(left))
      return InvalidArgument(std::string("delta: ") + ZSTD_getErrorName(left));
    if (o.pos == o.size) return InvalidArgument("delta: the patch decodes to more than expected");
    if (left == 0 && in.pos == in.size) break;
    if (in.pos == before_in && o.pos == before_out)
      return InvalidArgument("delta: the patch is truncated");
  }
  if (left != 0) return InvalidArgument("delta: the patch is truncated");
  if (o.pos != expected_size)
    return InvalidArgument("delta: the patch decodes to " + std::to_string(o.pos) + " bytes, not " +
                           std::to_string(expected_size));
  out.resize(o.pos);
  return out;
}

}  // namespace tern::fleet
