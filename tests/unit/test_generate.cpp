// Generation's controls: sampling's temperature and top-p, and stopping on EOS, stop strings,
// the token budget and cancellation.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/io/checkpoint.h"
#include "core/io/safetensors.h"
#include "core/llm/generate.h"
#include "core/llm/llama_model.h"
#include "core/llm/lora.h"
#include "core/nn/state_dict.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_llama.h"

using namespace setok;
using namespace setok::llm;
using setok::test::ids_of;
using setok::test::make;
using setok::test::tiny;

TEST(Generate, SamplingHonoursTemperatureAndTopP) {
  at::Tensor logits = at::log(at::tensor({0.7f, 0.2f, 0.1f}));
  std::mt19937_64 rng(0);
  SamplingOptions greedy;
  EXPECT_EQ(sample_token(logits, greedy, rng), 0);
  SamplingOptions t1;
  t1.temperature = 1.0;
  std::map<std::int64_t, int> n;
  for (int i = 0; i < 20000; ++i) ++n[sample_token(logits, t1, rng)];
  EXPECT_NEAR(n[0] / 20000.0, 0.7, 0.02);
  EXPECT_NEAR(n[1] / 20000.0, 0.2, 0.02);
  EXPECT_NEAR(n[2] / 20000.0, 0.1, 0.02);
  SamplingOptions nucleus = t1;
  nucleus.top_p = 0.85;  // {0.7, 0.2} reaches it: 0.1 is never drawn
  n.clear();
  for (int i = 0; i < 5000; ++i) ++n[sample_token(logits, nucleus, rng)];
  EXPECT_EQ(n[2], 0);
  EXPECT_NEAR(n[0] / 5000.0, 0.7 / 0.9, 0.03);
}

TEST(Generate, StopsOnEosStopStringsBudgetAndCancel) {
  LlamaForCausalLM m = make(tiny(), 8);
  // ids -> letters: id i decodes as char('a' + i % 26).
  DecodeFn decode = [](const std::vector<std::int64_t>& ids) {
    std::string s;
    for (auto i : ids) s += static_cast<char>('a' + i % 26);
    return s;
  };
  at::Tensor prompt;
  {
    c10::InferenceMode g;
    prompt = m->embed(ids_of({1, 2, 3}));
  }
  auto run = [&](SamplingOptions o, StreamFn f = {}) {
    KVCache cache = KVCache::allocate(m->config(), 1, 64, at::TensorOptions());
    GenerateResult r = generate(m, prompt, cache, o, decode, f);
    EXPECT_EQ(cache.length, 3 + static_cast<std::int64_t>(r.tokens.size()) - (r.stop_reason == "length" ? 1 : 0) -
                                (r.stop_reason == "cancelled" || r.stop_reason == "stop" ? 1 : 0));
    return r;
  };
  SamplingOptions o;
  o.max_new_tokens = 12;
  GenerateResult a = run(o);
  EXPECT_EQ(a.stop_reason, "length");
  ASSERT_EQ(a.tokens.size(), 12u);
  EXPECT_EQ(a.text, decode(a.tokens));
  // Greedy is deterministic, and cached decoding picks what a full forward would.
  {
    c10::InferenceMode g;
    std::vector<std::int64_t> seq{1, 2, 3};
    for (int i = 0; i < 5; ++i) {
      at::Tensor lg = m->forward(at::tensor(seq, at::kLong).view({1, -1}));
      seq.push_back(lg[0][-1].argmax().item<std::int64_t>());
    }
    EXPECT_EQ(std::vector<std::int64_t>(seq.begin() + 3, seq.end()),
              std::vector<std::int64_t>(a.tokens.begin(), a.tokens.begin() + 5));
  }
  SamplingOptions eos = o;
  eos.stop_ids = {a.tokens[3]};
  GenerateResult b = run(eos);
  EXPECT_EQ(b.stop_reason, "eos");
  EXPECT_LE(b.tokens.size(), 3u);
  SamplingOptions stop = o;
  stop.stop = {a.text.substr(4, 2)};
  std::string streamed;
  GenerateResult c = run(stop, [&](const std::string& p) {
    streamed += p;
    return true;
  });
  EXPECT_EQ(c.stop_reason, "stop");
  EXPECT_EQ(c.text, a.text.substr(0, a.text.find(stop.stop[0])));
  EXPECT_EQ(streamed, c.text);
  int calls = 0;
  GenerateResult d = run(o, [&](const std::string&) { return ++calls < 3; });
  EXPECT_EQ(d.stop_reason, "cancelled");
  EXPECT_EQ(calls, 3);
  EXPECT_LT(d.tokens.size(), 12u);
}
