// Indexing image folders: class folders (ImageFolder / ImageNet train), flat ImageNet validation folders with a
// ground-truth file, class subsets and spread-out limits.
#include "sq/data/image_folder.hpp"

#include <dirent.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <sstream>

#include "sq/core/error.hpp"

namespace sq::data {
namespace {

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

bool is_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

// Sorted entry names of `dir` (no "." / ".."), folders or files as asked.
std::vector<std::string> entries(const std::string& dir, bool folders) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  SQ_CHECK(d != nullptr, "cannot open the image folder " << dir);
  while (const dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == ".." || name[0] == '.') continue;
    if ((folders ? is_dir(dir + "/" + name) : is_file(dir + "/" + name))) names.push_back(name);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

bool is_jpeg_name(const std::string& name) {
  const std::size_t dot = name.rfind('.');
  if (dot == std::string::npos) return false;
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return ext == "jpg" || ext == "jpeg";
}

std::vector<std::string> image_files(const std::string& dir) {
  std::vector<std::string> files;
  for (const std::string& f : entries(dir, false)) {
    if (is_jpeg_name(f)) files.push_back(f);
  }
  return files;
}

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// file name -> class name or label index, from one of the ground-truth formats.
std::map<std::string, std::string> read_ground_truth(const std::string& path, bool csv) {
  std::ifstream in(path);
  SQ_CHECK(in.good(), "cannot open the ground-truth file " << path);
  std::map<std::string, std::string> truth;
  std::string line;
  std::int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    line = trim(line);
    if (line.empty()) continue;
    std::string file, label;
    if (csv) {
      if (number == 1 && line.rfind("ImageId", 0) == 0) continue;
      const std::size_t comma = line.find(',');
      SQ_CHECK(comma != std::string::npos, path << ":" << number << ": expected ImageId,PredictionString");
      file = line.substr(0, comma) + ".JPEG";
      std::istringstream rest(line.substr(comma + 1));
      rest >> label;
    } else {
      std::istringstream fields(line);
      fields >> file >> label;
      const std::size_t slash = file.rfind('/');
      if (slash != std::string::npos) file = file.substr(slash + 1);
    }
    SQ_CHECK(!file.empty() && !label.empty(),
             path << ":" << number << ": expected '<file> <label>', got '" << line << "'");
    truth[file] = label;
  }
  return truth;
}

}  // namespace

ImageList scan_class_folders(const std::string& dir, std::int64_t max_classes, const std::string& name) {
  SQ_CHECK(is_dir(dir), "the image folder " << dir << " does not exist (expected " << dir
                                            << "/<class>/<image>.JPEG; see docs/IMAGENET.md)");
  ImageList list;
  list.name = name;
  list.classes = entries(dir, true);
  SQ_CHECK(!list.classes.empty(), dir << " holds no class folders (expected " << dir << "/<class>/<image>.JPEG)");
  if (max_classes > 0 && max_classes < static_cast<std::int64_t>(list.classes.size())) {
    list.classes.resize(static_cast<std::size_t>(max_classes));
  }
  for (std::size_t c = 0; c < list.classes.size(); ++c) {
    const std::string folder = dir + "/" + list.classes[c];
    const std::vector<std::string> files = image_files(folder);
    SQ_CHECK(!files.empty(), "the class folder " << folder << " holds no .jpg / .jpeg file");
    for (const std::string& f : files) {
      list.paths.push_back(folder + "/" + f);
      list.labels.push_back(static_cast<std::int32_t>(c));
    }
  }
  return list;
}

ImageList scan_imagenet(const std::string& root, bool train, std::int64_t max_classes) {
  const std::string train_dir = root + "/train", val_dir = root + "/val";
  SQ_CHECK(is_dir(train_dir), "ImageNet: " << train_dir << " does not exist (expected " << root
                                           << "/train/<wnid>/*.JPEG and " << root << "/val; see docs/IMAGENET.md)");
  if (train) return scan_class_folders(train_dir, max_classes, "imagenet-train");
  std::vector<std::string> classes = entries(train_dir, true);
  if (max_classes > 0 && max_classes < static_cast<std::int64_t>(classes.size())) {
    classes.resize(static_cast<std::size_t>(max_classes));
  }
  SQ_CHECK(is_dir(val_dir), "ImageNet: " << val_dir << " does not exist");
  ImageList list;
  list.name = "imagenet-val";
  list.classes = classes;
  std::map<std::string, std::int32_t> index;
  for (std::size_t c = 0; c < classes.size(); ++c) index[classes[c]] = static_cast<std::int32_t>(c);
  const std::vector<std::string> folders = entries(val_dir, true);
  if (!folders.empty()) {
    for (const std::string& f : folders) {
      const auto it = index.find(f);
      if (it == index.end()) continue;  // a class outside the subset
      for (const std::string& file : image_files(val_dir + "/" + f)) {
        list.paths.push_back(val_dir + "/" + f + "/" + file);
        list.labels.push_back(it->second);
      }
    }
    SQ_CHECK(!list.paths.empty(), val_dir << ": no validation image in a training class folder");
    return list;
  }
  std::string truth_path;
  bool csv = false;
  for (const std::string& candidate : {root + "/val.txt", val_dir + "/val.txt", root + "/val_labels.txt",
                                       val_dir + "/val_labels.txt", root + "/LOC_val_solution.csv"}) {
    if (is_file(candidate)) {
      truth_path = candidate;
      csv = candidate.size() > 4 && candidate.substr(candidate.size() - 4) == ".csv";
      break;
    }
  }
  SQ_CHECK(!truth_path.empty(), "ImageNet: " << val_dir << " is flat (no class folders) and no ground-truth file "
                                             << "was found: put val.txt ('<file> <label index or wnid>' per line) "
                                             << "or LOC_val_solution.csv in " << root << ", or sort val/ into "
                                             << "class folders");
  const std::map<std::string, std::string> truth = read_ground_truth(truth_path, csv);
  for (const std::string& file : image_files(val_dir)) {
    const auto it = truth.find(file);
    SQ_CHECK(it != truth.end(), "ImageNet: " << val_dir << "/" << file << " has no line in " << truth_path);
    std::int32_t label = -1;
    const auto named = index.find(it->second);
    if (named != index.end()) {
      label = named->second;
    } else if (std::all_of(it->second.begin(), it->second.end(), [](char ch) { return std::isdigit(ch) != 0; })) {
      const long long value = std::stoll(it->second);
      const std::int64_t all = static_cast<std::int64_t>(entries(train_dir, true).size());
      SQ_CHECK(value >= 0 && value < all, truth_path << ": label " << value << " of " << file << " is outside 0.."
                                                     << all - 1 << " (the training classes)");
      if (value >= static_cast<long long>(classes.size())) continue;  // outside the subset
      label = static_cast<std::int32_t>(value);
    } else {
      const std::int64_t all = static_cast<std::int64_t>(entries(train_dir, true).size());
      SQ_CHECK(static_cast<std::int64_t>(classes.size()) < all,
               truth_path << ": " << file << " has class '" << it->second << "', not a training class folder");
      continue;  // a class outside the subset
    }
    list.paths.push_back(val_dir + "/" + file);
    list.labels.push_back(label);
  }
  SQ_CHECK(!list.paths.empty(), val_dir << ": no validation image of the training classes");
  return list;
}

void limit_images(ImageList& list, std::int64_t n) {
  if (n <= 0 || n >= list.size()) return;
  // Rank of each image within its class (lists are grouped or not: count as we go).
  std::vector<std::int64_t> seen(list.classes.size(), 0), rank(list.paths.size());
  for (std::size_t i = 0; i < list.paths.size(); ++i) rank[i] = seen[static_cast<std::size_t>(list.labels[i])]++;
  std::vector<std::size_t> keep(list.paths.size());
  for (std::size_t i = 0; i < keep.size(); ++i) keep[i] = i;
  std::stable_sort(keep.begin(), keep.end(), [&](std::size_t a, std::size_t b) { return rank[a] < rank[b]; });
  keep.resize(static_cast<std::size_t>(n));
  std::sort(keep.begin(), keep.end());
  ImageList out;
  out.classes = list.classes;
  out.name = list.name;
  for (std::size_t i : keep) {
    out.paths.push_back(list.paths[i]);
    out.labels.push_back(list.labels[i]);
  }
  list = std::move(out);
}

}  // namespace sq::data
