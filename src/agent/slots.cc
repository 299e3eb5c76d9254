#include "agent/slots.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fleet/crypto.h"
#include "fleet/file_util.h"

namespace tern::agent {
namespace {

using fleet::Json;

Status Errno(const std::string& what) { return IoError(what + ": " + std::strerror(errno)); }

Status WriteDurable(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("create " + path);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return Errno("write " + path);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    ::close(fd);
    return Errno("fsync " + path);
  }
  if (::close(fd) != 0) return Errno("close " + path);
  return Status::Ok();
}

Status MoveIn(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) return Errno("rename " + from + " to " + to);
  TERN_RETURN_IF_ERROR(fleet::FsyncDir(fleet::DirName(to)));
  return fleet::FsyncDir(fleet::DirName(from));
}

Status CheckFile(const std::string& path, uint64_t size, const std::string& sha256) {
  uint64_t got_size = 0;
  TERN_ASSIGN_OR_RETURN(fleet::Sha256Digest digest, fleet::Sha256File(path, &got_size));
  if (got_size != size) {
    return InvalidModel(path + " has " + std::to_string(got_size) + " bytes, expected " +
                        std::to_string(size));
  }
  if (fleet::HexEncode(digest) != sha256) return InvalidModel(path + " has the wrong SHA-256");
  return Status::Ok();
}

}  // namespace

Json SlotInfo::ToJson() const {
  return {{"model", model},
          {"model_version", model_version},
          {"manifest_version", manifest_version},
          {"variant", variant},
          {"sha256", sha256},
          {"size", size},
          {"probe_sha256", probe_sha256},
          {"probe_size", probe_size}};
}

Result<SlotInfo> SlotInfo::FromJson(const Json& j) {
  if (!j.is_object()) return InvalidArgument("slot.json is not an object");
  SlotInfo s;
  try {  // nlohmann throws on type mismatches; keep that inside this function
    s.model = j.at("model").get<std::string>();
    s.model_version = j.at("model_version").get<std::string>();
    s.manifest_version = j.at("manifest_version").get<int64_t>();
    s.variant = j.at("variant").get<std::string>();
    s.sha256 = j.at("sha256").get<std::string>();
    s.size = j.at("size").get<uint64_t>();
    s.probe_sha256 = j.at("probe_sha256").get<std::string>();
    s.probe_size = j.at("probe_size").get<uint64_t>();
  } catch (const std::exception& e) {
    return InvalidArgument(std::string("slot.json: ") + e.what());
  }
  if (!fleet::IsSha256Hex(s.sha256) ||
      (!s.probe_sha256.empty() && !fleet::IsSha256Hex(s.probe_sha256))) {
    return InvalidArgument("slot.json: malformed hash");
  }
  return s;
}

SlotStore::SlotStore(std::string state_dir, CrashPoints crash)
    : dir_(std::move(state_dir)), crash_(std::move(crash)) {}

std::string SlotStore::SlotDir(const std::string& slot) const { return dir_ + "/slots/" + slot; }
std::string SlotStore::ModelPath(const std::string& slot) const {
  return SlotDir(slot) + "/model.onnx";
}
std::string SlotStore::ProbePath(const std::string& slot) const {
  return SlotDir(slot) + "/probe.tar";
}

Status SlotStore::Init() {
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(SlotDir("a")));
  TERN_RETURN_IF_ERROR(fleet::MakeDirs(SlotDir("b")));
  ::unlink((dir_ + "/current.tmp").c_str());
  return Status::Ok();
}

Result<std::optional<SlotPointer>> SlotStore::ReadPointer() const {
  const std::string path = dir_ + "/current";
  if (::access(path.c_str(), F_OK) != 0) return std::optional<SlotPointer>();
  TERN_ASSIGN_OR_RETURN(std::string text, fleet::ReadFile(path, 64 << 10));
  TERN_ASSIGN_OR_RETURN(Json j, fleet::ParseJson(text));
  SlotPointer p;
  if (!j.is_object() || !j.contains("slot") || !j["slot"].is_string() || !j.contains("state") ||
      !j["state"].is_string() || !j.contains("attempts") || !j["attempts"].is_number_integer() ||
      !j.contains("previous") || !j["previous"].is_string()) {
    return InvalidArgument(path + " is malformed");
  }
  p.slot = j["slot"];
  p.trial = j["state"] == "trial";
  p.attempts = j["attempts"];
  p.previous = j["previous"];
  auto valid = [](const std::string& s) { return s == "a" || s == "b"; };
  if (!valid(p.slot) || !(p.previous.empty() || valid(p.previous))) {
    return InvalidArgument(path + " names an unknown slot");
  }
  return std::optional<SlotPointer>(p);
}

Status SlotStore::WritePointer(const SlotPointer& p, const std::string& step) {
  Json j = {{"slot", p.slot},
            {"state", p.trial ? "trial" : "good"},
            {"attempts", p.attempts},
            {"previous", p.previous}};
  const std::string tmp = dir_ + "/current.tmp";
  TERN_RETURN_IF_ERROR(WriteDurable(tmp, j.dump() + "\n"));
  crash_.Hit(step + "_tmp");
  if (::rename(tmp.c_str(), (dir_ + "/current").c_str()) != 0) return Errno("rename " + tmp);
  crash_.Hit(step + "_renamed");
  return fleet::FsyncDir(dir_);
}

Result<SlotInfo> SlotStore::VerifySlot(const std::string& slot) const {
  const std::string meta = SlotDir(slot) + "/slot.json";
  TERN_ASSIGN_OR_RETURN(std::string text, fleet::ReadFile(meta, 64 << 10));
  TERN_ASSIGN_OR_RETURN(Json j, fleet::ParseJson(text));
  TERN_ASSIGN_OR_RETURN(SlotInfo info, SlotInfo::FromJson(j));
  TERN_RETURN_IF_ERROR(CheckFile(ModelPath(slot), info.size, info.sha256));
  if (!info.probe_sha256.empty()) {
    TERN_RETURN_IF_ERROR(CheckFile(ProbePath(slot), info.probe_size, info.probe_sha256));
  }
  return info;
}

Status SlotStore::Stage(const std::string& slot, const SlotInfo& info,
                        const std::string& model_file, const std::string& probe_file) {
  const std::string dir = SlotDir(slot);
  // Unmark the slot first, so a crash in the middle never leaves old metadata over new files.
  if (::unlink((dir + "/slot.json").c_str()) != 0 && errno != ENOENT)
    return Errno("unlink slot.json");
  ::unlink(ProbePath(slot).c_str());
  TERN_RETURN_IF_ERROR(fleet::FsyncDir(dir));
  crash_.Hit("stage_cleared");
  TERN_RETURN_IF_ERROR(MoveIn(model_file, ModelPath(slot)));
  crash_.Hit("stage_model");
  if (!probe_file.empty()) TERN_RETURN_IF_ERROR(MoveIn(probe_file, ProbePath(slot)));
  TERN_RETURN_IF_ERROR(fleet::WriteFileAtomic(dir + "/slot.json", info.ToJson().dump() + "\n"));
  crash_.Hit("stage_done");
  return Status::Ok();
}

}  // namespace tern::agent
