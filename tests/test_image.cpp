// Grids, class filters, the mean view, and the snapshot/texture hand-off that needs no GL.
#include <gtest/gtest.h>

#include <thread>

#include "core/compute/latest.h"
#include "core/data/image.h"

#include <stb_image_write.h>

using namespace genlab;

namespace {

// Four 2x3 gray images; image i holds the value 10*i + pixel index.
Dataset tiny_dataset() {
  Dataset d;
  d.channels = 1;
  d.height = 2;
  d.width = 3;
  d.class_names = {"a", "b"};
  d.train.count = 4;
  d.train.labels = {0, 1, 1, 0};
  for (int i = 0; i < 4; ++i)
    for (int p = 0; p < 6; ++p) d.train.pixels.push_back(uint8_t(10 * i + p));
  return d;
}

}  // namespace

TEST(Grid, TilesImagesWithPaddingAndRemembersWhatEachCellShows) {
  Dataset d = tiny_dataset();
  ImageGrid g = make_dataset_grid(d, Split::Train, {3, 1, 2}, 2, 1, 0.5f);
  EXPECT_EQ(g.cols, 2);
  EXPECT_EQ(g.rows, 2);
  EXPECT_EQ(g.image.width, 1 + 2 * (3 + 1));
  EXPECT_EQ(g.image.height, 1 + 2 * (2 + 1));
  EXPECT_EQ(g.labels, (std::vector<int>{0, 1, 1}));
  // Cell 1 (index 1) starts at x = 1 + 4, y = 1; its pixel (2, 1) is byte 10 + 5.
  EXPECT_FLOAT_EQ(g.image.at(0, 1 + 1, 5 + 2), 15.f / 255.f);
  EXPECT_FLOAT_EQ(g.image.at(0, 0, 0), 0.5f);  // padding
  EXPECT_EQ(g.cell_at(5 + 2, 2), 1);
  EXPECT_EQ(g.cell_at(0, 0), -1);               // padding
  EXPECT_EQ(g.cell_at(4, 1), -1);               // the column of padding between cells
  EXPECT_EQ(g.cell_at(5, 4), -1);               // cell 3 does not exist: only three images
  EXPECT_EQ(g.cell_at(1, 4), 2);
  EXPECT_EQ(g.cell_at(100, 1), -1);
}

TEST(Grid, FilterByClassKeepsOrderAndAllWhenEmpty) {
  Dataset d = tiny_dataset();
  EXPECT_EQ(filter_by_class(d, Split::Train, {}), (std::vector<int64_t>{0, 1, 2, 3}));
  EXPECT_EQ(filter_by_class(d, Split::Train, {false, true}), (std::vector<int64_t>{1, 2}));
  EXPECT_TRUE(filter_by_class(d, Split::Train, {false, false}).empty());
}

TEST(Grid, MeanImageAndSignedDifference) {
  Dataset d = tiny_dataset();
  ImageBuffer mean = mean_image(d, Split::Train);
  ASSERT_EQ(mean.pixels.size(), 6u);
  EXPECT_FLOAT_EQ(mean.at(0, 0, 0), 15.f / 255.f);  // mean of 0, 10, 20, 30
  ImageGrid g = make_dataset_grid(d, Split::Train, {0, 3}, 2);
  subtract_from_cells(g, mean);
  EXPECT_NEAR(g.image.at(0, 1, 1), -15.f / 255.f, 1e-6);  // image 0 pixel 0 minus the mean
  EXPECT_NEAR(g.image.at(0, 1, 5), 15.f / 255.f, 1e-6);   // image 3 pixel 0
  EXPECT_EQ(g.image.at(0, 0, 0), 0.f);                    // padding is zero, not "below the mean"
}

TEST(Grid, InterleavedBytesClampAndRound) {
  ImageBuffer img{3, 1, 2, {0.f, 1.f, -1.f, 2.f, 0.5f, 0.25f}};
  auto bytes = to_interleaved_bytes(img);
  EXPECT_EQ(bytes, (std::vector<uint8_t>{0, 0, 128, 255, 255, 64}));
}

TEST(HandOff, LatestGivesImmutableSnapshotsWithGrowingStamps) {
  Latest<std::vector<int>> latest;
  EXPECT_EQ(latest.get(), nullptr);
  uint64_t first = latest.publish({1, 2});
  auto held = latest.get();
  uint64_t second = latest.publish({3});
  EXPECT_GT(second, first);
  EXPECT_EQ(held->value, (std::vector<int>{1, 2}));  // an old reader keeps its value
  EXPECT_EQ(latest.get()->value, std::vector<int>{3});
  EXPECT_EQ(latest.get()->stamp, second);
}

TEST(HandOff, UploadOnlyWhenTheStampChanges) {
  Latest<int> latest;
  UploadTracker tracker;
  EXPECT_FALSE(tracker.needs_upload(0));  // nothing published yet
  latest.publish(1);
  uint64_t stamp = latest.get()->stamp;
  EXPECT_TRUE(tracker.needs_upload(stamp));
  tracker.mark_uploaded(stamp);
  for (int frame = 0; frame < 100; ++frame) EXPECT_FALSE(tracker.needs_upload(latest.get()->stamp));
  latest.publish(2);
  EXPECT_TRUE(tracker.needs_upload(latest.get()->stamp));
  tracker.mark_uploaded(latest.get()->stamp);
  EXPECT_EQ(tracker.uploads(), 2u);
  tracker.reset();  // e.g. the display style changed: the same snapshot must be drawn again
  EXPECT_TRUE(tracker.needs_upload(latest.get()->stamp));
}

TEST(HandOff, ConcurrentPublishAndReadSeeWholeValues) {
  Latest<std::vector<int>> latest;
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 1; i <= 2000; ++i) latest.publish(std::vector<int>(64, i));
    done = true;
  });
  uint64_t last_stamp = 0;
  while (!done) {
    auto snap = latest.get();
    if (!snap) continue;
    EXPECT_GE(snap->stamp, last_stamp);
    last_stamp = snap->stamp;
    for (int v : snap->value) ASSERT_EQ(v, snap->value.front());  // never a torn vector
  }
  writer.join();
}

TEST(Grid, CellCopiesBackOutOfTheGrid) {
  Dataset d = tiny_dataset();
  ImageGrid g = make_dataset_grid(d, Split::Train, {2, 3}, 2);
  ImageBuffer cell = grid_cell(g, 1);
  ASSERT_EQ(cell.width, 3);
  ASSERT_EQ(cell.height, 2);
  for (int p = 0; p < 6; ++p) EXPECT_FLOAT_EQ(cell.pixels[size_t(p)], float(30 + p) / 255.f);
}

TEST(Grid, ReadImageResizesAndScales) {
  const std::string path = ::testing::TempDir() + "genlab_read_image.png";
  std::vector<uint8_t> gray(40 * 40, 200);
  ASSERT_TRUE(stbi_write_png(path.c_str(), 40, 40, 1, gray.data(), 40));
  ImageBuffer img = read_image(path, 1, 28);
  EXPECT_EQ(img.width, 28);
  EXPECT_EQ(img.height, 28);
  EXPECT_NEAR(img.pixels[14 * 28 + 14], 200.f / 255.f, 2.f / 255.f);
  EXPECT_THROW(read_image("/nonexistent.png", 1, 28), DataError);
}
