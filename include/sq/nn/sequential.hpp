// Sequential: runs its modules in order (backward in reverse).
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "sq/nn/module.hpp"

namespace sq::nn {

class Sequential : public Module {
 public:
  explicit Sequential(std::string name = {}) : name_(std::move(name)) {}

  // Appends a module; returns a reference to it (valid as long as this Sequential).
  template <class M>
  M& add(std::unique_ptr<M> module) {
    M& ref = *module;
    modules_.push_back(std::move(module));
    return ref;
  }
  template <class M, class... Args>
  M& emplace(Args&&... args) {
    return add(std::make_unique<M>(std::forward<Args>(args)...));
  }

  std::size_t size() const { return modules_.size(); }
  Module& operator[](std::size_t i) { return *modules_.at(i); }

  std::string type() const override { return "Sequential"; }
  std::string name() const override { return name_; }
  Shape setup(const Shape& input, ExecutionContext& ctx) override;
  const Tensor& forward(const Tensor& input, ExecutionContext& ctx) override;
  const Tensor& backward(const Tensor& grad_output, ExecutionContext& ctx) override;
  void collect_parameters(std::vector<Parameter*>& out) override;
  void collect_buffers(std::vector<NamedBuffer>& out) override;
  std::vector<Module*> children() override;

 private:
  std::string name_;
  std::vector<std::unique_ptr<Module>> modules_;
};

}  // namespace sq::nn
