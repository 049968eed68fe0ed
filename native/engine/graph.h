// A network as the engine sees it: an ordered list of nodes over numbered
// values (tensors) with numbered parameters, shapes inferred and checked.
// Built from a GraphDesc (plain strings and numbers, filled by the addon from
// the JS GraphSpec), so the engine itself knows nothing of N-API.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/ops.h"

namespace hnas {

enum class OpKind {
  kConv2d, kBatchNorm, kRelu, kAvgPool, kMaxPool, kGlobalAvgPool, kLinear,
  kAdd, kConcat, kSlice, kMulConst, kFlatten, kZerosLike, kIdentity,
};

// Numbers shared with TypeScript (src/native/binding.ts); pinned by a test.
enum class ParamKind : int {
  kConvWeight = 0, kConvBias = 1, kLinearWeight = 2, kLinearBias = 3,
  kBnWeight = 4, kBnBias = 5, kBnRunningMean = 6, kBnRunningVar = 7,
};

struct ParamDesc {
  std::string name;
  std::string kind;  // GraphSpec ParamKind spelling, e.g. "conv_weight"
  std::vector<int64_t> shape;
};

struct NodeDesc {
  std::string op, name;
  std::vector<std::string> inputs, outputs;
  std::map<std::string, std::string> refs;               // weight, bias, runningMean, runningVar
  std::map<std::string, std::vector<int64_t>> ints;      // stride, pads, kernel, ...
  std::map<std::string, double> reals;                   // eps, momentum, value
  std::map<std::string, bool> flags;                     // countIncludePad
};

struct GraphDesc {
  std::string input_name, output_name;
  std::vector<int64_t> input_shape;  // per sample [C, H, W]
  std::vector<ParamDesc> params;
  std::vector<NodeDesc> nodes;
};

struct ParamInfo {
  std::string name;
  ParamKind kind;
  std::vector<int64_t> shape;
  int64_t size = 0;
  int64_t offset = 0;  // into the flat parameter vector
  bool trainable() const { return kind != ParamKind::kBnRunningMean && kind != ParamKind::kBnRunningVar; }
};

struct ValueInfo {
  std::string name;
  Shape4 shape;        // per sample: n = 1
  int producer = -1;   // node index, -1 for the graph input
};

struct Node {
  OpKind op;
  std::string name;
  std::vector<int> inputs;
  int output = -1;
  int weight = -1, bias = -1, run_mean = -1, run_var = -1;  // parameter indices
  Conv2dParams conv;
  Pool2dParams pool;
  SliceParams slice;
  double eps = 1e-5, momentum = 0.1, value = 0;
  std::string label() const;  // `node "name" (op)` for messages
};

class Graph {
 public:
  explicit Graph(const GraphDesc& desc);

  const std::vector<ParamInfo>& params() const { return params_; }
  const std::vector<ValueInfo>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }
  int input_value() const { return input_; }
  int output_value() const { return output_; }
  int64_t total_param_size() const { return total_param_size_; }
  int64_t num_classes() const { return values_[output_].shape.c; }
  const Shape4& input_shape() const { return values_[input_].shape; }
  // Multiply-accumulates of Conv and Linear for one sample (NB201's "FLOPs").
  int64_t macs_per_sample() const { return macs_; }
  int find_param(const std::string& name) const;
  // Value (tensor) index by name, or -1.
  int find_value(const std::string& name) const;

 private:
  int value_id(const std::string& name, const std::string& where);
  int param_id(const NodeDesc& nd, const std::string& key, bool required);
  void infer(Node& node, const NodeDesc& nd);

  std::vector<ParamInfo> params_;
  std::vector<ValueInfo> values_;
  std::vector<Node> nodes_;
  std::map<std::string, int> value_ids_;
  std::map<std::string, int> param_ids_;
  int input_ = -1, output_ = -1;
  int64_t total_param_size_ = 0;
  int64_t macs_ = 0;
};

const char* op_name(OpKind op);

}  // namespace hnas
