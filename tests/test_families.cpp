// The table of families and what every trainer shares: the dispatch by checkpoint kind, the
// curves a checkpoint keeps (thinned, read back, refused when malformed).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

#include "core/families.h"
#include "core/io/safetensors.h"
#include "core/io/shipped.h"
#include "core/train/history.h"

using namespace genlab;

TEST(Families, EveryFamilyTrainsAndEvaluatesAndEachKindHasOneFamily) {
  std::set<std::string> kinds, names;
  for (const Family& f : families()) {
    EXPECT_TRUE(names.insert(f.name).second) << f.name;
    EXPECT_TRUE(f.train && f.eval) << f.name;
    EXPECT_FALSE(f.kinds.empty()) << f.name;
    for (const std::string& k : f.kinds) EXPECT_TRUE(kinds.insert(k).second) << k << " in two families";
    // A family with samples has a lab to show them in, and what it opens at start it ships.
    if (f.sample) EXPECT_TRUE(f.open_in_lab) << f.name;
    for (const std::string& file : f.opened_at_start)
      EXPECT_NE(std::find(f.shipped.begin(), f.shipped.end(), file), f.shipped.end()) << file;
  }
  EXPECT_EQ(family_of_kind("ae", "x").name, "vae");
  EXPECT_EQ(family_of_kind("ddpm", "x").name, "diffusion");
  EXPECT_EQ(family_of_kind("cyclegan", "x").name, "translate");
  try {
    family_of_kind("pixelcnn", "m.safetensors");
    FAIL() << "no error for an unknown kind";
  } catch (const std::invalid_argument& e) {
    EXPECT_STREQ(e.what(), "m.safetensors: no model family reads 'pixelcnn' checkpoints");
  }
  // The table lists exactly the shipped models: each is found, and none in the folder is left out.
  std::set<std::string> listed;
  for (const Family& f : families())
    for (const std::string& file : f.shipped) {
      EXPECT_FALSE(find_shipped_model(file).empty()) << file;
      listed.insert(file);
    }
  EXPECT_GE(listed.size(), 6u);  // classifier, VAE, AE, 2-D VAE, cGAN, DDPM
  const std::string any = find_shipped_model("classifier-fashion.safetensors");
  ASSERT_FALSE(any.empty());
  for (const auto& entry : std::filesystem::directory_iterator(std::filesystem::path(any).parent_path()))
    if (entry.path().extension() == ".safetensors")
      EXPECT_TRUE(listed.count(entry.path().filename().string())) << entry.path() << " is in no family's entry";
  std::vector<std::string> trainable = trainable_kinds();
  for (const char* kind : {"vae", "ae", "gan", "ddpm", "pix2pix", "cyclegan", "stargan", "classifier"})
    EXPECT_NE(std::find(trainable.begin(), trainable.end(), kind), trainable.end()) << kind;
}

namespace {

struct Point {
  int64_t step;
  float loss;
};

nlohmann::json curve_of(const std::vector<Point>& points) {
  return curve_json(points, {"step", "loss"}, [](const Point& p) { return std::vector<double>{double(p.step), p.loss}; });
}

std::vector<Point> points_of(const nlohmann::json& curve) {
  return curve_points<Point>(curve, 2, [](const std::vector<double>& r) { return Point{int64_t(r[0]), float(r[1])}; });
}

}  // namespace

TEST(Curves, ACheckpointKeepsAThinnedCurveWithItsNewestPointAndReadsItBack) {
  std::vector<Point> few = {{1, 3.f}, {2, 2.5f}, {3, 2.f}};
  nlohmann::json curve = curve_of(few);
  EXPECT_EQ(curve["columns"], nlohmann::json({"step", "loss"}));
  std::vector<Point> back = points_of(curve);
  ASSERT_EQ(back.size(), 3u);
  EXPECT_EQ(back[2].step, 3);
  EXPECT_FLOAT_EQ(back[1].loss, 2.5f);

  std::vector<Point> many;
  for (int64_t i = 1; i <= 2001; ++i) many.push_back({i, 1.f / float(i)});
  std::vector<Point> thinned = points_of(curve_of(many));
  EXPECT_LE(thinned.size(), kSavedHistory + 1);
  EXPECT_GE(thinned.size(), kSavedHistory / 2);
  EXPECT_EQ(thinned.front().step, 1);
  EXPECT_EQ(thinned.back().step, 2001);  // the newest point is kept
  for (size_t i = 1; i < thinned.size(); ++i) EXPECT_LT(thinned[i - 1].step, thinned[i].step);

  // Metadata comes from outside: a malformed curve reads as none, never as a crash or half a curve.
  EXPECT_TRUE(points_of(nlohmann::json()).empty());
  EXPECT_TRUE(points_of(nlohmann::json::parse(R"({"rows": [[1, 2], [3]]})")).empty());
  EXPECT_TRUE(points_of(nlohmann::json::parse(R"({"rows": [[1, "x"]]})")).empty());
  EXPECT_TRUE(points_of(nlohmann::json::parse(R"({"rows": 7})")).empty());
  EXPECT_TRUE(saved_history("not json").is_null());
  EXPECT_EQ(saved_history(R"({"history": {"train": 1}})")["train"], 1);
}
