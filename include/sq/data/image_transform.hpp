// The image transforms of the ImageNet pipeline: random-resized-crop (He et al. / torchvision's), horizontal flip,
// resize-and-centre-crop for evaluation, and one resampler (PIL's bilinear, antialiased when shrinking) that cuts a
// window from a decoded image, scales it to the output size, mirrors it and normalises it to f32 CHW.
// Every random choice is a function of (seed, epoch, sample index): a batch does not depend on threads or timing.
#pragma once

#include <cstdint>

#include "sq/data/image_folder.hpp"

namespace sq::data {

// A window of a source image in pixel coordinates (x, y: top-left corner; may be fractional after DCT scaling).
struct CropWindow {
  double x = 0, y = 0, width = 0, height = 0;
};

struct ImageTransformOptions {
  int out_size = 224;                                   // square output
  bool train = true;                                    // true: random-resized-crop + flip; false: resize + centre crop
  double scale_min = 0.08, scale_max = 1.0;             // RRC area fraction
  double ratio_min = 3.0 / 4.0, ratio_max = 4.0 / 3.0;  // RRC aspect ratio (width / height), drawn log-uniform
  bool flip = true;                                     // train only
  double eval_resize = 256.0 / 224.0;                   // eval: short side resized to out_size * this, then centre crop
  float mean[3] = {0.485f, 0.456f, 0.406f};             // ImageNet statistics (pixel / 255)
  float stddev[3] = {0.229f, 0.224f, 0.225f};
};

// torchvision's RandomResizedCrop.get_params with Philox draws: up to 10 tries of (area, log-ratio) and then the
// window's position; the fallback is the centre crop at the clamped ratio. Integer windows, as torchvision's.
CropWindow random_resized_crop(int width, int height, const ImageTransformOptions& o, std::uint64_t seed,
                               std::uint64_t epoch, std::int64_t sample);
// Flip with probability 1/2 (a draw separate from the crop's).
bool random_flip(std::uint64_t seed, std::uint64_t epoch, std::int64_t sample);
// The source window that resize (short side to out_size * eval_resize) + centre crop out_size keeps.
CropWindow center_crop(int width, int height, const ImageTransformOptions& o);
// The window a sample takes in this epoch (random for training, centred for evaluation).
CropWindow sample_window(int width, int height, const ImageTransformOptions& o, std::uint64_t seed, std::uint64_t epoch,
                         std::int64_t sample);

// Resamples `window` of `image` to out x out (separable triangle filter, support widened by the scale when
// shrinking, as PIL's Image.resize(BILINEAR)), mirrors it when `flip`, and writes (v / 255 - mean) / stddev into
// out[3][out][out]. A window of exactly out x out pixels at integer offsets copies the pixels unchanged.
void resample_normalize(const RgbImage& image, const CropWindow& window, bool flip, int out,
                        const ImageTransformOptions& o, float* chw);

}  // namespace sq::data
