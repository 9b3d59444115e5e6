// Safetensors reading and writing for checkpoints: 8-byte little-endian header length, JSON header (dtype, shape,
// data_offsets per tensor; "__metadata__" string map), then the tensors' raw little-endian bytes, contiguous.
#include "sq/train/checkpoint.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <memory>

#include "train/atomic_file.hpp"
#include "train/json_parse.hpp"
#include "zlib.h"

namespace sq::train {
namespace {

using detail::Json;
using detail::json_excerpt;

// Same limit as the reference implementation: a larger header is a corrupt length field, not a real checkpoint.
constexpr std::uint64_t kMaxHeaderBytes = 100u * 1024u * 1024u;

bool host_is_little_endian() {
  const std::uint16_t probe = 1;
  std::uint8_t first = 0;
  std::memcpy(&first, &probe, 1);
  return first == 1;
}

const char* safetensors_dtype(DType dtype) {
  switch (dtype) {
    case DType::f32: return "F32";
    case DType::i32: return "I32";
    case DType::u8: return "U8";
  }
  return "?";
}

bool parse_dtype(const std::string& name, DType& out) {
  if (name == "F32")
    out = DType::f32;
  else if (name == "I32")
    out = DType::i32;
  else if (name == "U8")
    out = DType::u8;
  else
    return false;
  return true;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

struct Entry {
  std::string name;
  DType dtype;
  Shape shape;
  std::uint64_t begin, end;
};

Entry parse_entry(const std::string& name, const Json& value, const std::string& path) {
  const std::string where = path + ": tensor '" + name.substr(0, 80) + "'";
  SQ_CHECK(!name.empty(), path << ": header holds a tensor with an empty name");
  SQ_CHECK(value.is_object(), where << " is not a JSON object in the header");
  for (const auto& item : value.items()) {
    SQ_CHECK(item.key() == "dtype" || item.key() == "shape" || item.key() == "data_offsets",
             where << " has unknown header field '" << item.key().substr(0, 60) << "'");
  }
  SQ_CHECK(value.contains("dtype") && value["dtype"].is_string(), where << " has no string 'dtype'");
  SQ_CHECK(value.contains("shape") && value["shape"].is_array(), where << " has no 'shape' array");
  SQ_CHECK(value.contains("data_offsets") && value["data_offsets"].is_array() && value["data_offsets"].size() == 2,
           where << " has no 'data_offsets' pair");
  Entry e;
  e.name = name;
  const std::string dtype = value["dtype"].get<std::string>();
  SQ_CHECK(parse_dtype(dtype, e.dtype),
           where << " has dtype " << dtype << ", which SQ-CUDA checkpoints do not use (F32, I32, U8 only)");
  std::uint64_t numel = 1;
  for (const Json& d : value["shape"]) {
    SQ_CHECK(d.is_number_unsigned(),
             where << " has a shape entry that is not a non-negative integer: " << json_excerpt(d));
    const std::uint64_t dim = d.get<std::uint64_t>();
    SQ_CHECK(dim == 0 || numel <= (std::uint64_t{1} << 50) / dim,
             where << " has an absurd shape " << json_excerpt(value["shape"]));
    numel *= dim;
    e.shape.push_back(static_cast<std::int64_t>(dim));
  }
  for (const Json& o : value["data_offsets"]) {
    SQ_CHECK(o.is_number_unsigned(),
             where << " has a data offset that is not a non-negative integer: " << json_excerpt(o));
  }
  e.begin = value["data_offsets"][0].get<std::uint64_t>();
  e.end = value["data_offsets"][1].get<std::uint64_t>();
  SQ_CHECK(e.begin <= e.end,
           where << " has data_offsets [" << e.begin << ", " << e.end << "] that end before they begin");
  const std::uint64_t expected = numel * dtype_size(e.dtype);
  SQ_CHECK(e.end - e.begin == expected, where << " spans " << (e.end - e.begin) << " bytes but " << dtype << " "
                                              << shape_str(e.shape) << " needs " << expected);
  return e;
}

std::uint32_t crc32_of(const void* data, std::size_t bytes) {
  uLong crc = ::crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {  // zlib takes 32-bit lengths
    const uInt chunk = static_cast<uInt>(std::min<std::size_t>(bytes, 1u << 30));
    crc = ::crc32(crc, p, chunk);
    p += chunk;
    bytes -= chunk;
  }
  return static_cast<std::uint32_t>(crc);
}

std::string hex32(std::uint32_t v) {
  char text[9];
  std::snprintf(text, sizeof text, "%08x", v);
  return text;
}

// Verifies every tensor against the checksums of metadata 'tensor_crc32' (and removes the key), or refuses an
// SQ-CUDA checkpoint of format version >= 2 that has none.
void verify_checksums(Checkpoint& checkpoint, const std::string& path) {
  const auto found = checkpoint.metadata.find(checkpoint_key::kTensorCrc32);
  if (found == checkpoint.metadata.end()) {
    const auto format = checkpoint.metadata.find(checkpoint_key::kFormat);
    const auto version = checkpoint.metadata.find(checkpoint_key::kFormatVersion);
    const bool ours = format != checkpoint.metadata.end() && format->second == kCheckpointFormatName;
    SQ_CHECK(!ours || version == checkpoint.metadata.end() || version->second == "1",
             path << ": metadata '" << checkpoint_key::kTensorCrc32 << "' (the tensors' checksums) is missing, but "
                  << "format version " << version->second << " files always have it: the header was edited or the "
                  << "file was written by another tool; use an earlier checkpoint");
    return;
  }
  const Json sums = detail::parse_json(found->second, path + ": metadata '" + checkpoint_key::kTensorCrc32 + "'");
  SQ_CHECK(sums.is_object(), path << ": metadata '" << checkpoint_key::kTensorCrc32 << "' is not a JSON object");
  for (const NamedTensor& t : checkpoint.tensors) {
    const auto sum = sums.find(t.name);
    SQ_CHECK(sum != sums.end() && sum->is_string(), path << ": tensor '" << t.name << "' has no checksum in metadata '"
                                                         << checkpoint_key::kTensorCrc32 << "'");
    const std::string actual = hex32(crc32_of(t.tensor.raw(), t.tensor.bytes()));
    SQ_CHECK(sum->get<std::string>() == actual, path << ": tensor '" << t.name << "' fails its checksum (CRC-32 "
                                                     << actual << ", recorded " << sum->get<std::string>().substr(0, 16)
                                                     << "): its bytes were altered or damaged on disk; use an "
                                                     << "earlier checkpoint");
  }
  SQ_CHECK(sums.size() == checkpoint.tensors.size(), path << ": metadata '" << checkpoint_key::kTensorCrc32
                                                          << "' lists " << sums.size() << " checksums for "
                                                          << checkpoint.tensors.size() << " tensors");
  checkpoint.metadata.erase(found);
}

}  // namespace

void Checkpoint::add(std::string name, const Tensor& tensor) {
  SQ_CHECK(find(name) == nullptr, "checkpoint already holds a tensor named '" << name << "'");
  tensors.push_back({std::move(name), tensor.to(Device::cpu())});
}

const Tensor* Checkpoint::find(const std::string& name) const {
  for (const NamedTensor& t : tensors) {
    if (t.name == name) return &t.tensor;
  }
  return nullptr;
}

const Tensor& Checkpoint::at(const std::string& name) const {
  const Tensor* t = find(name);
  SQ_CHECK(t != nullptr, "checkpoint has no tensor named '" << name << "'");
  return *t;
}

const std::string& Checkpoint::meta(const std::string& key) const {
  const auto it = metadata.find(key);
  SQ_CHECK(it != metadata.end(), "checkpoint metadata has no key '" << key << "'");
  return it->second;
}

std::int64_t Checkpoint::meta_int(const std::string& key) const {
  const std::string& text = meta(key);
  std::size_t used = 0;
  std::int64_t value = 0;
  try {
    value = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SQ_CHECK(used == text.size() && !text.empty(),
           "checkpoint metadata '" << key << "' = '" << text << "' is not an integer");
  return value;
}

double Checkpoint::meta_double(const std::string& key) const {
  const std::string& text = meta(key);
  std::size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  SQ_CHECK(used == text.size() && !text.empty(),
           "checkpoint metadata '" << key << "' = '" << text << "' is not a number");
  return value;
}

void write_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  SQ_CHECK(host_is_little_endian(), "safetensors is little-endian; this host is not (writing " << path << ")");
  Json header = Json::object();
  Json meta = Json::object();
  for (const auto& [key, value] : checkpoint.metadata) {
    if (key != checkpoint_key::kTensorCrc32) meta[key] = value;
  }
  // Host copies of device tensors (checksummed here, written below).
  std::vector<Tensor> host(checkpoint.tensors.size());
  Json sums = Json::object();
  for (std::size_t i = 0; i < checkpoint.tensors.size(); ++i) {
    const Tensor& t = checkpoint.tensors[i].tensor;
    SQ_CHECK(t.defined(), "tensor '" << checkpoint.tensors[i].name << "' has no storage (writing " << path << ")");
    host[i] = t.device().is_cpu() ? t.view(0, t.shape()) : t.to(Device::cpu());
    sums[checkpoint.tensors[i].name] = hex32(crc32_of(host[i].raw(), host[i].bytes()));
  }
  meta[checkpoint_key::kTensorCrc32] = sums.dump();
  header["__metadata__"] = meta;
  std::uint64_t offset = 0;
  for (const NamedTensor& t : checkpoint.tensors) {
    SQ_CHECK(!t.name.empty() && t.name != "__metadata__", "invalid tensor name '" << t.name << "' for " << path);
    SQ_CHECK(!header.contains(t.name), "duplicate tensor name '" << t.name << "' writing " << path);
    const std::uint64_t bytes = t.tensor.bytes();
    header[t.name] = {{"dtype", safetensors_dtype(t.tensor.dtype())},
                      {"shape", t.tensor.shape()},
                      {"data_offsets", {offset, offset + bytes}}};
    offset += bytes;
  }
  std::string text = header.dump();
  // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
  text.append((8 - text.size() % 8) % 8, ' ');
  std::uint8_t length[8];
  for (int i = 0; i < 8; ++i) length[i] = static_cast<std::uint8_t>((std::uint64_t{text.size()} >> (8 * i)) & 0xff);

  write_file_atomically(path, [&](int fd) {
    write_all(fd, length, sizeof length, path);
    write_all(fd, text.data(), text.size(), path);
    for (const Tensor& t : host) write_all(fd, t.raw(), t.bytes(), path);
  });
}

Checkpoint read_checkpoint(const std::string& path) {
  SQ_CHECK(host_is_little_endian(), "safetensors is little-endian; this host is not (reading " << path << ")");
  File file(std::fopen(path.c_str(), "rb"));
  SQ_CHECK(file != nullptr, "cannot open checkpoint " << path << ": " << std::strerror(errno));
  SQ_CHECK(std::fseek(file.get(), 0, SEEK_END) == 0, "cannot seek in " << path);
  const long end = std::ftell(file.get());
  SQ_CHECK(end >= 0, "cannot determine the size of " << path);
  const std::uint64_t file_size = static_cast<std::uint64_t>(end);
  std::rewind(file.get());

  SQ_CHECK(file_size >= 8,
           path << ": " << file_size << " bytes is too short for a safetensors file (truncated or not a checkpoint)");
  std::uint8_t length_bytes[8];
  SQ_CHECK(std::fread(length_bytes, 1, 8, file.get()) == 8, "cannot read the header length of " << path);
  std::uint64_t header_size = 0;
  for (int i = 7; i >= 0; --i) header_size = (header_size << 8) | length_bytes[i];
  SQ_CHECK(header_size >= 2 && header_size <= kMaxHeaderBytes,
           path << ": header length " << header_size << " is not plausible (corrupt or not a safetensors file)");
  SQ_CHECK(header_size <= file_size - 8, path << ": header length " << header_size << " exceeds the " << (file_size - 8)
                                              << " bytes after the length field (truncated?)");
  std::string text(header_size, '\0');
  SQ_CHECK(std::fread(text.data(), 1, header_size, file.get()) == header_size, "cannot read the header of " << path);
  SQ_CHECK(text[0] == '{', path << ": header does not start with '{' (corrupt or not a safetensors file)");

  const Json header = detail::parse_json(text, path + ": header");
  SQ_CHECK(header.is_object(), path << ": header is not a JSON object");

  Checkpoint checkpoint;
  std::vector<Entry> entries;
  for (const auto& item : header.items()) {
    if (item.key() == "__metadata__") {
      SQ_CHECK(item.value().is_object(), path << ": __metadata__ is not a JSON object");
      for (const auto& m : item.value().items()) {
        SQ_CHECK(m.value().is_string(), path << ": metadata '" << m.key().substr(0, 60) << "' is not a string");
        checkpoint.metadata[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    entries.push_back(parse_entry(item.key(), item.value(), path));
  }

  // Tensors must tile the data section exactly: no gaps, no overlaps, nothing after the last one.
  const std::uint64_t data_size = file_size - 8 - header_size;
  std::vector<std::size_t> order(entries.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return entries[a].begin != entries[b].begin ? entries[a].begin < entries[b].begin : entries[a].end < entries[b].end;
  });
  std::uint64_t covered = 0;
  std::string previous = "(start of data)";
  for (std::size_t i : order) {
    const Entry& e = entries[i];
    SQ_CHECK(e.begin == covered, path << ": tensor '" << e.name << "' starts at data byte " << e.begin << " but '"
                                      << previous << "' ends at " << covered
                                      << " (offsets overlap or leave a gap: corrupt header)");
    SQ_CHECK(e.end <= data_size, path << ": tensor '" << e.name << "' ends at data byte " << e.end
                                      << " but the file holds only " << data_size
                                      << " data bytes (truncated checkpoint)");
    covered = e.end;
    previous = e.name;
  }
  SQ_CHECK(covered == data_size, path << ": tensors cover " << covered << " data bytes but the file holds " << data_size
                                      << " (trailing bytes: corrupt or concatenated file)");

  // Read in file order; keep the header's order in the result.
  std::vector<Tensor> loaded(entries.size());
  for (std::size_t i : order) {
    const Entry& e = entries[i];
    Tensor t(e.shape, e.dtype, Device::cpu());
    const std::size_t bytes = t.bytes();
    SQ_CHECK(bytes == 0 || std::fread(t.raw(), 1, bytes, file.get()) == bytes,
             path << ": cannot read the " << bytes << " bytes of tensor '" << e.name << "' (truncated?)");
    loaded[i] = std::move(t);
  }
  for (std::size_t i = 0; i < entries.size(); ++i)
    checkpoint.tensors.push_back({entries[i].name, std::move(loaded[i])});
  verify_checksums(checkpoint, path);
  return checkpoint;
}

}  // namespace sq::train
