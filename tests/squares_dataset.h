// A small synthetic data set for the autoencoder tests: fast to train on, easy to tell apart.
#pragma once

#include <memory>

#include "core/data/dataset.h"

namespace genlab {

// 400 train / 100 test 28x28 images of a bright square whose position encodes the label (4 classes).
inline std::shared_ptr<const Dataset> squares_dataset() {
  auto d = std::make_shared<Dataset>();
  d->spec = "synthetic:squares";
  d->channels = 1;
  d->height = d->width = 28;
  d->class_names = {"top-left", "top-right", "bottom-left", "bottom-right"};
  auto fill = [](ImageSet& set, int count, int salt) {
    set.count = count;
    set.pixels.assign(size_t(count) * 784, 0);
    for (int i = 0; i < count; ++i) {
      int label = (i + salt) % 4, x0 = (label % 2) * 14 + (i % 3), y0 = (label / 2) * 14 + (i % 5);
      for (int y = y0; y < y0 + 10; ++y)
        for (int x = x0; x < x0 + 10; ++x) set.pixels[size_t(i) * 784 + y * 28 + x] = 230;
      set.labels.push_back(label);
    }
  };
  fill(d->train, 400, 0);
  fill(d->test, 100, 1);
  return d;
}

}  // namespace genlab
