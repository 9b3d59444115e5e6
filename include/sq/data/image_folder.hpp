// Image folders: the ImageNet layout (train/<wnid>/*.JPEG; val/ in class folders, or flat with a ground-truth
// file) and any ImageFolder-style set (<root>/<class>/*.jpg), indexed into (path, label) lists; and the JPEG
// decoding (libjpeg-turbo) the streaming loader uses. docs/IMAGENET.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sq::data {

// Files of one split: paths[i] has label labels[i], an index into `classes` (sorted folder names, e.g. wnids).
struct ImageList {
  std::vector<std::string> paths;
  std::vector<std::int32_t> labels;
  std::vector<std::string> classes;
  std::string name;  // "imagenet-train", for messages
  std::int64_t size() const { return static_cast<std::int64_t>(paths.size()); }
};

// <dir>/<class>/<image>: class folders in sorted order become labels 0..N-1; files ending .jpg / .jpeg (any case)
// in each, sorted. `max_classes` > 0 keeps the first N classes only (a class subset for small experiments).
// Throws sq::Error naming the folder when it is missing, has no class folders, or a class folder has no image.
ImageList scan_class_folders(const std::string& dir, std::int64_t max_classes, const std::string& name);

// The ImageNet root: `root`/train in class folders; `root`/val either in class folders (sorted like train) or flat,
// labelled by a ground-truth file found in `root` or `root`/val: "val.txt" / "val_labels.txt" (lines "<file>
// <label>", label an index into the sorted training classes or a wnid, as Caffe's ilsvrc12 files are) or Kaggle's
// "LOC_val_solution.csv" ("ImageId,PredictionString" with the wnid first). Validation labels name training
// classes; with max_classes the validation images of other classes are dropped.
ImageList scan_imagenet(const std::string& root, bool train, std::int64_t max_classes);

// Keeps `n` images (n <= 0 or >= size: all), spread over the classes: image k of every class before image k+1 of
// any, so a limit of 10 x classes keeps about 10 images per class. Deterministic (no seed).
void limit_images(ImageList& list, std::int64_t n);

// A decoded image: 8-bit RGB, row-major, interleaved (HWC).
struct RgbImage {
  int width = 0, height = 0;
  std::vector<std::uint8_t> pixels;
};

// Why a file is not usable, for the skip-or-fail policy (sq::Error carries the file:line of the throw instead).
struct DecodeFailure {
  std::string path, reason;
};

// One decoder per thread (wraps a TurboJPEG handle). Greyscale JPEGs come out as RGB (R = G = B), CMYK / YCCK
// (Adobe, inverted, as Photoshop and ImageNet's write them) converted as PIL does; a PNG named .JPEG and anything
// else that is not a JPEG is a failure whose reason says what the file is.
class JpegDecoder {
 public:
  JpegDecoder();
  ~JpegDecoder();
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;

  // The image size; false (and `why`) when the data is not a decodable JPEG.
  bool header(const std::uint8_t* data, std::size_t size, int& width, int& height, std::string& why);
  // Decodes scaled by num/denom (one of libjpeg-turbo's DCT scaling factors, see scale_for; 1/1: full size).
  bool decode(const std::uint8_t* data, std::size_t size, int num, int denom, RgbImage& out, std::string& why);

 private:
  void* handle_ = nullptr;
  std::vector<std::uint8_t> cmyk_;
};

// libjpeg-turbo's size of `dimension` decoded at num/denom (rounded up, as TJSCALED).
int scaled_dimension(int dimension, int num, int denom);
// The smallest DCT scaling factor num/denom <= 1 at which a region of region_w x region_h source pixels still
// covers out_w x out_h pixels: decoding then does the first part of the downscale in the IDCT, for free.
void scale_for(double region_w, double region_h, int out_w, int out_h, int& num, int& denom);

// Whether this build decodes JPEGs (libjpeg-turbo found at configure time).
bool jpeg_decoding_available();
// Reads a whole file; false (and `why`) when it cannot be opened or read.
bool read_file_bytes(const std::string& path, std::vector<std::uint8_t>& out, std::string& why);

}  // namespace sq::data
