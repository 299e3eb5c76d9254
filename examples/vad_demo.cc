// tern-vad-demo: finds speech in a 16 kHz mono WAV file with the Silero VAD v5 model, using only
// libtern's public C++ API. Each 512-sample frame (32 ms) gives a speech probability; a segment
// starts when it reaches 0.5 and ends after 8 frames (256 ms) below 0.35.
//
//   tern-vad-demo silero_vad_v5.onnx speech.wav
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <vector>

#include "tern/session.h"

namespace {

constexpr int kRate = 16000;
constexpr int kFrame = 512;
constexpr float kOn = 0.5f;
constexpr float kOff = 0.35f;
constexpr int kHangoverFrames = 8;
constexpr int kMinSpeechFrames = 4;

bool ReadWav(const char* path, std::vector<float>* samples, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return *error = "cannot open " + std::string(path), false;
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto u32 = [&](size_t o) {
    uint32_t v;
    std::memcpy(&v, bytes.data() + o, 4);
    return v;
  };
  auto u16 = [&](size_t o) {
    uint16_t v;
    std::memcpy(&v, bytes.data() + o, 2);
    return v;
  };
  if (bytes.size() < 12 || std::memcmp(bytes.data(), "RIFF", 4) || std::memcmp(bytes.data() + 8, "WAVE", 4))
    return *error = "not a WAV file", false;
  bool have_fmt = false;
  for (size_t o = 12; o + 8 <= bytes.size();) {
    uint32_t size = u32(o + 4);
    if (size > bytes.size() - o - 8) return *error = "truncated WAV chunk", false;
    if (!std::memcmp(bytes.data() + o, "fmt ", 4)) {
      if (size < 16) return *error = "bad fmt chunk", false;
      if (u16(o + 8) != 1 || u16(o + 10) != 1 || u32(o + 12) != kRate || u16(o + 22) != 16)
        return *error = "need 16 kHz mono 16-bit PCM (try: sox in.wav -r 16000 -c 1 -b 16 out.wav)",
               false;
      have_fmt = true;
    } else if (!std::memcmp(bytes.data() + o, "data", 4)) {
      if (!have_fmt) return *error = "data before fmt", false;
      samples->resize(size / 2);
      for (size_t i = 0; i < samples->size(); ++i)
        (*samples)[i] = static_cast<int16_t>(u16(o + 8 + 2 * i)) / 32768.0f;
      return true;
    }
    o += 8 + size + (size & 1);
  }
  return *error = "no data chunk", false;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s silero_vad_v5.onnx speech.wav\n", argv[0]);
    return 2;
  }
  std::vector<float> audio;
  std::string error;
  if (!ReadWav(argv[2], &audio, &error)) {
    std::fprintf(stderr, "%s: %s\n", argv[2], error.c_str());
    return 1;
  }
  auto t0 = std::chrono::steady_clock::now();
  tern::SessionOptions options;
  options.threads = 1;
  auto loaded = tern::Session::Load(argv[1], options);
  if (!loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.status().ToString().c_str());
    return 1;
  }
  const tern::Session& vad = **loaded;
  double load_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();

  auto frame = tern::Tensor::Allocate(tern::DataType::kFloat32, tern::Shape{1, kFrame}).value();
  auto state = tern::Tensor::Allocate(tern::DataType::kFloat32, tern::Shape{2, 1, 128}).value();
  auto sr = tern::Tensor::FromVector(tern::DataType::kInt64, tern::Shape{},
                                     std::vector<int64_t>{kRate});
  std::printf("Silero VAD over %s: %.2f s of audio, model loaded in %.1f ms\n", argv[2],
              audio.size() / double(kRate), load_ms);
  std::vector<tern::Value> outputs;
  bool speaking = false;
  int start = 0, last_speech = 0, segments = 0;
  const int frames = static_cast<int>(audio.size() / kFrame);
  auto run0 = std::chrono::steady_clock::now();
  auto emit = [&](int begin, int end) {
    if (end - begin + 1 < kMinSpeechFrames) return;
    ++segments;
    std::printf("  speech %6.2f s - %6.2f s\n", begin * kFrame / double(kRate),
                (end + 1) * kFrame / double(kRate));
  };
  for (int f = 0; f < frames; ++f) {
    std::memcpy(frame.raw(), audio.data() + size_t(f) * kFrame, kFrame * sizeof(float));
    tern::Status st = vad.Run({tern::Value(frame), tern::Value(state), tern::Value(sr)}, &outputs);
    if (!st.ok()) {
      std::fprintf(stderr, "frame %d: %s\n", f, st.ToString().c_str());
      return 1;
    }
    float p = outputs[0].tensor.data<float>()[0];
    state = outputs[1].tensor;
    if (p >= kOn) {
      if (!speaking) start = f;
      speaking = true;
      last_speech = f;
    } else if (speaking && p < kOff && f - last_speech >= kHangoverFrames) {
      emit(start, last_speech);
      speaking = false;
    } else if (speaking && p >= kOff) {
      last_speech = f;
    }
  }
  if (speaking) emit(start, last_speech);
  double run_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - run0).count();
  std::printf("%d speech segments; %d frames in %.1f ms (%.3f ms per 32 ms frame)\n", segments,
              frames, run_ms, frames ? run_ms / frames : 0.0);
  return segments > 0 ? 0 : 1;
}
