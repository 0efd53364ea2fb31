// The dataset readers training uses: they read back what `setok data scenes` writes, and the
// hand-written real-format files (COCO polygons, uncompressed RLE, LLaVA text-only entries,
// InstructPix2Pix folders, class folders); malformed files are errors naming file and fault.
#include <gtest/gtest.h>

#include <filesystem>

#include "core/data/coco.h"
#include "core/data/image_folder.h"
#include "core/data/instruct_pix2pix.h"
#include "core/data/llava.h"
#include "core/data/refcoco.h"
#include "core/data/scenes_writer.h"
#include "core/runtime/error.h"
#include "tests/support/temp_dir.h"

using namespace setok::data;
using setok::test::read_bytes;
using setok::test::TempDir;
using setok::test::write_bytes;

namespace {

ScenesWriteOptions small(const std::string& out, int threads) {
  ScenesWriteOptions o;
  o.out = out;
  o.count = 6;
  o.start = 3;
  o.scene.seed = 5;
  o.scene.split = Split::val;
  o.scene.px = 96;
  o.threads = threads;
  return o;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const setok::Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(DatasetReaders, ReadBackWhatTheScenesWriterWrote) {
  TempDir d;
  const ScenesWriteResult res = write_scenes(small(d.path().string(), 2));
  EXPECT_EQ(res.images, 6);
  const auto a = d.path() / "annotations";

  CocoInstances inst = read_coco_instances((a / "instances_val.json").string());
  ASSERT_EQ(inst.images.size(), 6u);
  EXPECT_EQ(inst.categories.size(), static_cast<std::size_t>(kNumClasses));
  EXPECT_EQ(static_cast<std::int64_t>(inst.annotations.size()), res.objects);
  std::size_t k = 0;
  for (std::int64_t i = 3; i < 9; ++i) {
    const GeneratedScene g = generate_scene(small("", 1).scene, i);
    EXPECT_TRUE(std::filesystem::exists(d.path() / inst.images[i - 3].file_name));
    const char* kinds[] = {"plain", "gradient", "photo"};
    EXPECT_EQ(inst.images[i - 3].background, kinds[static_cast<int>(g.scene.background.kind)]);
    for (const ObjectInfo& o : g.objects) {
      ASSERT_LT(k, inst.annotations.size());
      const CocoAnnotation& ann = inst.annotations[k++];
      EXPECT_EQ(ann.image_id, inst.images[i - 3].id);
      EXPECT_EQ(ann.category_id, o.cls + 1);
      EXPECT_EQ(annotation_mask(ann, 96, 96), o.mask);
      EXPECT_EQ(ann.area, o.area);
      EXPECT_EQ(ann.bbox[2], o.bbox[2]);
      EXPECT_EQ(ann.colour, colour_name(o.colour));
      EXPECT_EQ(ann.depth, o.object);
    }
  }

  CocoCaptions caps = read_coco_captions((a / "captions_val.json").string());
  EXPECT_EQ(caps.captions.size(), 18u);

  std::vector<Ref> refs = read_refs((a / "refs_val.json").string());
  EXPECT_EQ(static_cast<std::int64_t>(refs.size()), res.refs);
  for (const Ref& r : refs) {
    EXPECT_TRUE(std::any_of(inst.annotations.begin(), inst.annotations.end(),
                            [&](const CocoAnnotation& x) { return x.id == r.ann_id && x.image_id == r.image_id; }));
    EXPECT_EQ(r.split, "val");
    EXPECT_FALSE(r.sentences.empty());
  }

  std::vector<LlavaConversation> conv = read_llava((a / "llava_val.json").string());
  ASSERT_EQ(conv.size(), 6u);
  for (const auto& c : conv) {
    EXPECT_TRUE(std::filesystem::exists(d.path() / c.image));
    ASSERT_GE(c.turns.size(), 2u);
    EXPECT_EQ(c.turns[0].value.rfind("<image>\n", 0), 0u);
    for (std::size_t t = 0; t < c.turns.size(); ++t) EXPECT_EQ(c.turns[t].from, t % 2 ? "gpt" : "human");
  }

  std::vector<EditTriplet> edits = read_edit_triplets((a / "edits_val.jsonl").string());
  EXPECT_EQ(static_cast<std::int64_t>(edits.size()), res.edits);
  for (const auto& e : edits) {
    EXPECT_TRUE(std::filesystem::exists(e.input_image)) << e.input_image;
    EXPECT_TRUE(std::filesystem::exists(e.edited_image)) << e.edited_image;
    EXPECT_FALSE(e.instruction.empty());
    // A move may stay within the same third of the image, which is all the prompt says of place.
    const bool move = e.instruction.rfind("Move", 0) == 0 || e.instruction.rfind("Shift", 0) == 0;
    if (!move) {
      EXPECT_NE(e.input_caption, e.edited_caption) << e.instruction;
    }
  }
}

TEST(DatasetReaders, OutputDoesNotDependOnThreads) {
  TempDir a, b;
  write_scenes(small(a.path().string(), 1));
  write_scenes(small(b.path().string(), 3));
  for (const char* f : {"instances_val.json", "captions_val.json", "refs_val.json", "llava_val.json", "edits_val.jsonl",
                        "prompts_val.jsonl"})
    EXPECT_EQ(read_bytes(a / (std::string("annotations/") + f)), read_bytes(b / (std::string("annotations/") + f)))
        << f;
  EXPECT_EQ(read_bytes(a / "images/val_0000004.png"), read_bytes(b / "images/val_0000004.png"));
}

TEST(DatasetReaders, RealCocoShapes) {
  TempDir d;
  // Real COCO: polygons for objects, uncompressed RLE for crowds, no scenes extras.
  write_bytes(d / "inst.json", R"({"images":[{"id":1,"file_name":"a.jpg","width":4,"height":3}],
    "categories":[{"id":1,"name":"person","supercategory":"person"}],
    "annotations":[
      {"id":10,"image_id":1,"category_id":1,"bbox":[0,0,2,2],"area":4,"iscrowd":0,
       "segmentation":[[0,0,2,0,2,2,0,2]]},
      {"id":11,"image_id":1,"category_id":1,"bbox":[0,0,4,3],"area":2,"iscrowd":1,
       "segmentation":{"size":[3,4],"counts":[3,2,7]}}]})");
  CocoInstances c = read_coco_instances(d / "inst.json");
  ASSERT_EQ(c.annotations.size(), 2u);
  EXPECT_EQ(c.annotations[0].segmentation.kind, CocoSegmentation::Kind::polygons);
  EXPECT_EQ(annotation_mask(c.annotations[0], 3, 4), (std::vector<std::uint8_t>{1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_TRUE(c.annotations[1].iscrowd);
  // counts 3,2,7 on 3x4: column 0 all zero, column 1 rows 0-1 set.
  EXPECT_EQ(annotation_mask(c.annotations[1], 3, 4), (std::vector<std::uint8_t>{0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0}));
  EXPECT_EQ(c.annotations[1].depth, -1);
}

TEST(DatasetReaders, MalformedFilesNameFileAndFault) {
  TempDir d;
  write_bytes(d / "broken.json", "{\"images\": [");
  EXPECT_NE(error_of([&] { read_coco_instances(d / "broken.json"); }).find("broken.json: not valid JSON"),
            std::string::npos);
  write_bytes(d / "nobbox.json",
              R"({"images":[],"categories":[],"annotations":[{"id":1,"image_id":"x","category_id":1}]})");
  EXPECT_NE(error_of([&] {
              read_coco_instances(d / "nobbox.json");
            }).find("nobbox.json: annotations[0]: 'image_id' has the wrong type"),
            std::string::npos);
  write_bytes(d / "rle.json", R"({"images":[],"categories":[],"annotations":[{"id":1,"image_id":1,"category_id":1,
     "segmentation":{"size":[2,2],"counts":"12"}}]})");
  EXPECT_NE(error_of([&] { read_coco_instances(d / "rle.json"); }).find("rle.json: annotations[0]: RLE counts cover"),
            std::string::npos);
  write_bytes(d / "rle2.json", R"({"images":[],"categories":[],"annotations":[{"id":1,"image_id":1,"category_id":1,
     "segmentation":{"size":[2,2],"counts":"13x"}}]})");
  EXPECT_NE(error_of([&] {
              read_coco_instances(d / "rle2.json");
            }).find("rle2.json: annotations[0]: compressed RLE has a character"),
            std::string::npos);
  write_bytes(d / "refs.json", R"([{"ref_id":1,"ann_id":2,"image_id":3,"sentences":[]}])");
  EXPECT_NE(error_of([&] { read_refs(d / "refs.json"); }).find("refs.json: refs[0]: no sentences"), std::string::npos);
  write_bytes(d / "llava.json", R"([{"id":1,"conversations":[{"from":"robot","value":"hi"}]}])");
  EXPECT_NE(error_of([&] { read_llava(d / "llava.json"); }).find("'from' is 'robot'"), std::string::npos);
  std::filesystem::create_directories(d.path() / "ann");
  write_bytes(d / "ann/e.jsonl", "{\"input_image\":\"a.png\",\"edited_image\":\"b.png\"}\n");
  EXPECT_NE(error_of([&] { read_edit_triplets(d / "ann/e.jsonl"); }).find("e.jsonl: line 1: 'edit_prompt' missing"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_coco_captions(d / "missing.json"); }).find("missing.json: cannot open"),
            std::string::npos);
  EXPECT_NE(error_of([&] { read_image_folder(d / "nowhere"); }).find("nowhere: not a folder"), std::string::npos);
}

TEST(DatasetReaders, LlavaTextOnlyAndNumericIds) {
  TempDir d;
  write_bytes(d / "l.json",
              R"([{"id":42,"conversations":[{"from":"human","value":"hi"},{"from":"gpt","value":"hello"}]},
    {"id":"000000033471","image":"coco/train2017/000000033471.jpg",
     "conversations":[{"from":"human","value":"<image>\nWhat?"},{"from":"gpt","value":"A bus."}]}])");
  auto c = read_llava(d / "l.json");
  ASSERT_EQ(c.size(), 2u);
  EXPECT_EQ(c[0].id, "42");
  EXPECT_TRUE(c[0].image.empty());
  EXPECT_EQ(c[1].image, "coco/train2017/000000033471.jpg");
}

TEST(DatasetReaders, InstructPix2PixFoldersAndImageFolders) {
  TempDir d;
  std::filesystem::create_directories(d.path() / "ip2p/0001");
  write_bytes(d / "ip2p/0001/prompt.json", R"({"input":"a cat","edit":"make it a dog","output":"a dog"})");
  write_bytes(d / "ip2p/0001/77_0.jpg", "x");
  write_bytes(d / "ip2p/0001/77_1.jpg", "y");
  auto t = read_edit_triplets(d / "ip2p");
  ASSERT_EQ(t.size(), 1u);
  EXPECT_EQ(t[0].instruction, "make it a dog");
  EXPECT_EQ(std::filesystem::path(t[0].edited_image).filename(), "77_1.jpg");

  for (const char* f : {"inet/zebra/b.JPEG", "inet/zebra/a.png", "inet/ant/x.jpg", "inet/empty/readme.txt"}) {
    std::filesystem::create_directories((d.path() / f).parent_path());
    write_bytes(d / f, "x");
  }
  ImageFolder f = read_image_folder(d / "inet");
  EXPECT_EQ(f.classes, (std::vector<std::string>{"ant", "zebra"}));
  ASSERT_EQ(f.samples.size(), 3u);
  EXPECT_EQ(f.samples[0].label, 0);
  EXPECT_EQ(std::filesystem::path(f.samples[1].path).filename(), "a.png");
  EXPECT_EQ(f.samples[2].label, 1);
}
