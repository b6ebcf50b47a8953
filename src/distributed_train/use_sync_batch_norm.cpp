#include "distributed_train/use_sync_batch_norm.h"

#include "core/console.h"
#include "distributed/sync_batch_norm.h"

#include <ostream>

namespace tutorial {
namespace {

struct SetSyncBatchNorm {
  ProcessGroup& group;

  void operator()(const ResNetCifar& model) const {
    ProcessGroup* g = &group;
    model.ptr()->set_batch_norm(
        [g](torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) { return sync_batch_norm(bn, x, *g); });
  }
  void operator()(const NeuralNetwork&) const {}  // no BatchNorm
};

}  // namespace

int64_t use_sync_batch_norm(Classifier& model, ProcessGroup& group) {
  model.visit(SetSyncBatchNorm{group});
  const int64_t layers = count_batch_norm_layers(*model.module());
  if (layers == 0) {
    out() << "Note: --sync-bn: the model has no BatchNorm layer, nothing to synchronize" << std::endl;
  }
  return layers;
}

}  // namespace tutorial
