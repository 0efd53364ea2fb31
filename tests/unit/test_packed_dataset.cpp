// The packed SeTok dataset: every sample round-trips, a model of another size is refused, and
// training reads it.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <string>

#include "core/data/setok_data.h"
#include "core/runtime/error.h"
#include "core/train/progress.h"
#include "core/train/setok_trainer.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tiny_setok.h"
#include "tests/support/toy_scenes.h"

using namespace setok;
using namespace setok::train;
using setok::test::tiny_config;

TEST(PackedDataset, RoundTripsEverySampleAndRejectsAMismatchedModel) {
  test::TempDir dir;
  test::ToyScenes toy(5);
  const std::string path = (dir.path() / "toy.safetensors").string();
  PackSummary r = pack_dataset(toy, path, 64, 8);
  EXPECT_EQ(r.images, 5u);
  EXPECT_GT(r.bytes, 5u * 3 * 64 * 64);
  auto packed = open_setok_dataset(path, 64, 8);
  ASSERT_EQ(packed->size(), 5u);
  EXPECT_EQ(packed->label_names(), toy.label_names());
  std::size_t objects = 0;
  for (std::size_t i = 0; i < 5; ++i) {
    SetokSample a = toy.get(i), b = packed->get(i);
    // u8 storage rounds to half a step of 1/255, i.e. 1/255 after normalisation to [-1, 1] (the
    // toy's 0.5 grey is the worst case; images decoded from 8-bit files round-trip exactly).
    EXPECT_LE((a.pixels - b.pixels).abs().max().item<float>(), 1.0f / 255.0f + 1e-6f) << i;
    EXPECT_TRUE(at::equal(a.instance_map, b.instance_map)) << i;
    EXPECT_TRUE(at::equal(a.object_masks, b.object_masks)) << i;
    EXPECT_EQ(a.labels, b.labels) << i;
    EXPECT_EQ(b.background, "") << i;  // the toy says nothing of its backgrounds
    objects += a.labels.size();
  }
  EXPECT_EQ(r.objects, objects);
  EXPECT_EQ(pack_dataset(toy, path, 64, 8, 2).images, 2u);
  EXPECT_EQ(open_setok_dataset(path, 64, 8)->size(), 2u);
  EXPECT_THROW(open_setok_dataset(path, 128, 8), Error);  // packed for another model size
  EXPECT_THROW(pack_dataset(toy, path, 128, 8), Error);   // samples not prepared at that size
  // The background kinds, where the data names them, travel with the pack.
  test::ToyScenes kinded(4, false, true);
  pack_dataset(kinded, path, 64, 8);
  auto kp = open_setok_dataset(path, 64, 8);
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(kp->get(i).background, kinded.get(i).background) << i;
  EXPECT_EQ(kp->get(0).background, "photo");
  // Training reads the packed file like any dataset.
  SetokTrainConfig c = tiny_config((dir.path() / "run").string(), 2);
  c.train_data = path;
  ProgressWriter quiet(ProgressMode::kNone);
  EXPECT_EQ(train_setok(c, "", quiet).steps_done, 2);
}
