#include "core/train/judge_trainer.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>
#include <torch/optim/adam.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "core/data/coco.h"
#include "core/dist/gradient_sync.h"
#include "core/dist/world_group.h"
#include "core/eval/object_judge.h"
#include "core/eval/picture_objects.h"
#include "core/io/atomic_file.h"
#include "core/io/image.h"
#include "core/runtime/error.h"
#include "core/tokenizer/setok_model.h"

namespace fs = std::filesystem;

namespace setok::train {
namespace {

// Crops [N, 4, S, S] with class (none for backgrounds) and colour (-100 for backgrounds) labels.
struct JudgeData {
  at::Tensor crops, cls, colour;
};

// SeTok's token regions of the picture (pixel edges), as picture_objects shows them to the judge:
// one that covers an object well (IoU ≥ 0.5) is that object, one that covers little of any object
// (under a fifth of its pixels) is "no object", others (parts, merges) are left out.
void token_region_crops(tokenizer::SetokModelImpl& setok, const io::Image& img, const at::Tensor& px,
                        const std::vector<std::pair<at::Tensor, std::pair<std::int64_t, std::int64_t>>>& objects,
                        const eval::ObjectJudgeConfig& jc, std::vector<at::Tensor>& crops,
                        std::vector<std::int64_t>& cls, std::vector<std::int64_t>& colour) {
  c10::InferenceMode guard;
  const at::Tensor labels = eval::picture_regions(setok, img);
  at::Tensor any = at::zeros({img.height, img.width}, at::kBool);
  for (const auto& o : objects) any |= o.first;
  const std::int64_t tokens = labels.max().item<std::int64_t>() + 1;
  for (std::int64_t k = 0; k < tokens; ++k) {
    at::Tensor region = labels == k;
    const double area = region.sum().item<double>();
    if (area < 12) continue;
    double best = 0;
    std::size_t which = 0;
    for (std::size_t i = 0; i < objects.size(); ++i) {
      const double inter = (region & objects[i].first).sum().item<double>();
      const double iou = inter / (area + objects[i].first.sum().item<double>() - inter);
      if (iou > best) best = iou, which = i;
    }
    if (best >= 0.5) {
      cls.push_back(objects[which].second.first);
      colour.push_back(objects[which].second.second);
    } else if ((region & any).sum().item<double>() < 0.2 * area) {
      cls.push_back(jc.none());
      colour.push_back(-100);
    } else {
      continue;
    }
    crops.push_back(eval::judge_crop(px, region, jc.crop));
  }
}

JudgeData judge_data(const std::string& instances, const eval::ObjectJudgeConfig& jc, std::int64_t max_images,
                     tokenizer::SetokModelImpl* setok) {
  const data::CocoInstances coco = data::read_coco_instances(instances);
  fs::path root = fs::path(instances).parent_path().parent_path();
  std::map<std::int64_t, std::vector<const data::CocoAnnotation*>> by_image;
  for (const auto& a : coco.annotations) by_image[a.image_id].push_back(&a);
  std::map<std::string, std::int64_t> colour_index;
  for (std::size_t i = 0; i < jc.colours.size(); ++i) colour_index[jc.colours[i]] = static_cast<std::int64_t>(i);
  std::vector<at::Tensor> crops;
  std::vector<std::int64_t> cls, colour;
  std::int64_t n = 0;
  for (const auto& im : coco.images) {
    if (n++ >= max_images) break;
    const io::Image img = io::load_image((root / im.file_name).string());
    const at::Tensor px = eval::picture_pixels(img);
    at::Tensor any = at::zeros({img.height, img.width}, at::kBool);
    std::vector<std::pair<at::Tensor, std::pair<std::int64_t, std::int64_t>>> objects;
    for (const data::CocoAnnotation* a : by_image[im.id]) {
      auto m = data::annotation_mask(*a, img.height, img.width);
      at::Tensor mask = at::from_blob(m.data(), {img.height, img.width}, at::kByte).to(at::kBool).clone();
      if (mask.sum().item<std::int64_t>() < 4) continue;
      any |= mask;
      crops.push_back(eval::judge_crop(px, mask, jc.crop));
      cls.push_back(a->category_id - 1);
      auto c = colour_index.find(a->colour);
      colour.push_back(c == colour_index.end() ? -100 : c->second);
      objects.push_back({mask, {cls.back(), colour.back()}});
    }
    if (setok) token_region_crops(*setok, img, px, objects, jc, crops, cls, colour);
    at::Tensor background = at::logical_not(any);
    if (background.sum().item<std::int64_t>() > img.height * img.width / 10) {
      crops.push_back(eval::judge_crop(px, background, jc.crop));
      cls.push_back(jc.none());
      colour.push_back(-100);
    }
  }
  if (crops.empty()) throw Error(instances + ": no objects to learn from");
  return {at::stack(crops), at::tensor(cls, at::kLong), at::tensor(colour, at::kLong)};
}

nlohmann::json accuracy(eval::ObjectJudgeImpl& judge, const JudgeData& d) {
  c10::InferenceMode guard;
  judge.eval();
  std::vector<at::Tensor> cl, co;
  for (std::int64_t i = 0; i < d.crops.size(0); i += 512) {
    eval::JudgeLogits l = judge.forward(d.crops.narrow(0, i, std::min<std::int64_t>(512, d.crops.size(0) - i)));
    cl.push_back(l.cls.argmax(1));
    co.push_back(l.colour.argmax(1));
  }
  at::Tensor pc = at::cat(cl), pco = at::cat(co);
  const std::int64_t none = judge.config().none();
  at::Tensor obj = d.cls != none;
  at::Tensor has_colour = d.colour != -100;
  auto mean = [](const at::Tensor& hit, const at::Tensor& where) {
    const double n = where.sum().item<double>();
    return n > 0 ? (hit & where).sum().item<double>() / n : 0.0;
  };
  return {{"objects", obj.sum().item<std::int64_t>()},
          {"backgrounds", (~obj).sum().item<std::int64_t>()},
          {"class_top1", mean(pc == d.cls, obj)},
          {"colour_top1", mean(pco == d.colour.clamp_min(0), has_colour)},
          {"both_top1", mean((pc == d.cls) & (pco == d.colour.clamp_min(0)), obj & has_colour)},
          {"no_object_top1", mean(pc == d.cls, ~obj)},
          {"objects_called_no_object", mean(pc == none, obj)}};
}

}  // namespace

nlohmann::json train_judge(const JudgeTrainConfig& cfg) {
  if (cfg.steps < 1 || cfg.batch_size < 1 || !(cfg.lr > 0))
    throw Error("judge: steps, batch_size and lr must be positive");
  if (cfg.out.empty()) throw Error("judge: no output folder");
  const eval::ObjectJudgeConfig jc = eval::ObjectJudgeConfig::scenes_world();
  tokenizer::SetokModel setok{nullptr};
  if (!cfg.regions_from.empty()) setok = tokenizer::load_setok(cfg.regions_from);
  const JudgeData train = judge_data(cfg.train_instances, jc, cfg.max_images, setok ? setok.get() : nullptr);
  const JudgeData val = judge_data(cfg.val_instances, jc, cfg.max_images, setok ? setok.get() : nullptr);
  std::fprintf(stderr, "judge: %lld training crops, %lld held out\n", static_cast<long long>(train.crops.size(0)),
               static_cast<long long>(val.crops.size(0)));
  at::manual_seed(cfg.seed);
  eval::ObjectJudge judge(jc);
  torch::optim::Adam opt(judge->parameters(), torch::optim::AdamOptions(cfg.lr));
  at::Generator gen = at::detail::createCPUGenerator(cfg.seed);
  // Several ranks: step n's draw of batch_size × ranks crops, as one process would draw it, and this
  // rank's share (each rank's batch norm sees its own share, as in DDP without synchronised norms).
  const std::int64_t ranks = dist::world_size(), first = dist::world_rank() * cfg.batch_size;
  const std::unique_ptr<dist::GradientSync> sync = dist::data_parallel(opt);
  for (std::int64_t step = 1; step <= cfg.steps; ++step) {
    judge->train();
    at::Tensor idx =
        at::randint(train.crops.size(0), {cfg.batch_size * ranks}, gen, at::TensorOptions().dtype(at::kLong))
            .narrow(0, first, cfg.batch_size);
    at::Tensor x = train.crops.index_select(0, idx);
    if (step % 2 == 0) x = x.flip({3});  // a mirrored object is the same object
    eval::JudgeLogits l = judge->forward(x);
    const at::Tensor colour = train.colour.index_select(0, idx);  // -100: no colour to learn
    at::Tensor loss =
        at::cross_entropy_loss(l.cls, train.cls.index_select(0, idx)) +
        dist::share_of_items(colour != -100) * at::cross_entropy_loss(l.colour, colour, {}, at::Reduction::Mean, -100);
    const dist::StepAgreement agreed = dist::agree_on_step(step, loss.item<double>(), false);
    opt.zero_grad();
    if (sync) sync->begin();
    loss.backward();
    if (sync) sync->finish();
    opt.step();
    if ((step % 100 == 0 || step == cfg.steps) && dist::is_writer())
      std::fprintf(stderr, "judge: step %lld/%lld loss %.4f\n", static_cast<long long>(step),
                   static_cast<long long>(cfg.steps), agreed.loss);
  }
  if (!dist::is_writer()) return nlohmann::json::object();  // rank 0 evaluates and writes
  judge->set_trained(true);
  nlohmann::json m = {{"train", accuracy(*judge, train)},
                      {"held_out", accuracy(*judge, val)},
                      {"train_instances", cfg.train_instances},
                      {"val_instances", cfg.val_instances},
                      {"steps", cfg.steps}};
  eval::save_object_judge(cfg.out, *judge);
  io::write_file_atomic((fs::path(cfg.out) / "metrics.json").string(), m.dump(2) + "\n");
  return m;
}

nlohmann::json judge_accuracy(const std::string& judge_dir, const std::string& instances, std::int64_t max_images) {
  eval::ObjectJudge judge = eval::load_object_judge(judge_dir);
  return accuracy(*judge, judge_data(instances, judge->config(), max_images, nullptr));
}

}  // namespace setok::train
