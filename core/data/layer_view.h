// What the layer view shows of one layer of a generator or decoder (the stylegan3 visualizer's layer
// widget): each channel's feature map, scaled to its own range, and its mean and standard deviation.
// Torch-free: the labs fill it on the worker, the panels draw it.
#pragma once

#include <string>
#include <vector>

#include "core/data/image.h"

namespace genlab {

struct LayerView {
  std::vector<std::string> layers;  // every layer's name, first to last
  int layer = -1;                   // the one shown
  int channels = 0, height = 0, width = 0;
  ImageGrid maps;                    // its channels in a grid, each scaled to its own min..max
  std::vector<ImageBuffer> channel;  // each channel alone, scaled the same way (hover: enlarged)
  std::vector<float> mean, std;      // per channel, of the raw values
  double ms = 0;                     // worker time for the forward pass and the maps
};

}  // namespace genlab
