// DDP around models of the user's own whose forward is not one tensor in, one
// out: two inputs, a tuple out, a forward called by another name. Two ranks
// (threads, Gloo on loopback), each on its half of every batch, must end
// where one process training on the whole batch ends.
#include "distributed/distributed_data_parallel.h"

#include "build_config.h"
#include "rank_threads.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <tuple>

using namespace tutorial;
using tutorial::testdata::expect_same_parameters;
using tutorial::testdata::run_ranks;

namespace {

// An image and a side vector in, class scores out.
struct TwoInputNetImpl : torch::nn::Module {
  TwoInputNetImpl()
      : image(register_module("image", torch::nn::Linear(16, 8))),
        side(register_module("side", torch::nn::Linear(3, 8))),
        head(register_module("head", torch::nn::Linear(8, 4))) {}
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& extra) {
    return head(torch::relu(image(x.flatten(1)) + side(extra)));
  }
  torch::nn::Linear image, side, head;
};
TORCH_MODULE(TwoInputNet);

// Class scores and a reconstruction of the input: a tuple out.
struct TupleNetImpl : torch::nn::Module {
  TupleNetImpl()
      : body(register_module("body", torch::nn::Linear(16, 8))),
        scores(register_module("scores", torch::nn::Linear(8, 4))),
        decoder(register_module("decoder", torch::nn::Linear(8, 16))) {}
  std::tuple<torch::Tensor, torch::Tensor> forward(const torch::Tensor& x) {
    auto h = torch::tanh(body(x));
    return {scores(h), decoder(h)};
  }
  torch::nn::Linear body, scores, decoder;
};
TORCH_MODULE(TupleNet);

struct Batch {
  torch::Tensor x, extra, labels;
  Batch half(int64_t rank) const {
    return {x.chunk(2)[rank], extra.chunk(2)[rank], labels.chunk(2)[rank]};
  }
};

std::vector<Batch> random_batches() {
  torch::manual_seed(7);
  std::vector<Batch> batches;
  for (int step = 0; step < 4; ++step) {
    batches.push_back({torch::randn({8, 16}), torch::randn({8, 3}), torch::randint(0, 4, {8})});
  }
  return batches;
}

torch::Tensor two_input_loss(TwoInputNet& model, const Batch& b) {
  return torch::nn::functional::cross_entropy(model->forward(b.x, b.extra), b.labels);
}

torch::Tensor tuple_loss(const std::tuple<torch::Tensor, torch::Tensor>& out, const Batch& b) {
  const auto& [scores, reconstruction] = out;
  return torch::nn::functional::cross_entropy(scores, b.labels) +
         torch::mse_loss(reconstruction, b.x);
}

// One process, whole batches: what two ranks must end with.
template <typename Model, typename Loss>
void train_alone(Model& model, const std::vector<Batch>& batches, Loss loss_of) {
  torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
  for (const auto& b : batches) {
    sgd.zero_grad();
    loss_of(model, b).backward();
    sgd.step();
  }
}

// Two ranks, each starting elsewhere (DDP copies rank 0's start), each on its
// half: `step(ddp, model, half)` returns the loss.
template <typename Model, typename Step>
std::vector<Model> train_two_ranks(const Model& start, const std::vector<Batch>& batches,
                                   Step step) {
  std::vector<Model> models;
  for (int rank = 0; rank < 2; ++rank) {
    torch::manual_seed(100 + rank);
    models.emplace_back();
  }
  {
    torch::NoGradGuard no_grad;
    auto from = start->named_parameters();
    for (auto& p : models[0]->named_parameters()) p.value().copy_(from[p.key()]);
  }
  run_ranks(2, [&](int64_t rank, ProcessGroup& group) {
    Model& model = models[static_cast<size_t>(rank)];
    DistributedDataParallel ddp(model.ptr(), group);
    torch::optim::SGD sgd(model->parameters(), torch::optim::SGDOptions(0.1).momentum(0.9));
    for (const auto& b : batches) {
      sgd.zero_grad();
      step(ddp, model, b.half(rank)).backward();
      sgd.step();
    }
  });
  return models;
}

template <typename Model>
Model seeded() {
  torch::manual_seed(0);
  return Model();
}

class DdpForward : public testing::Test {
 protected:
  void SetUp() override {
    if (!TUTORIAL_WITH_GLOO) GTEST_SKIP() << "this LibTorch has no Gloo headers";
  }
};

}  // namespace

TEST_F(DdpForward, AModelWithTwoInputsTrainsAsOneProcessOnTheWholeBatch) {
  const auto batches = random_batches();
  auto alone = seeded<TwoInputNet>();
  train_alone(alone, batches, two_input_loss);
  auto ranks = train_two_ranks(seeded<TwoInputNet>(), batches,
                               [](DistributedDataParallel& ddp, TwoInputNet& model, const Batch& b) {
                                 auto scores = ddp.forward(model, b.x, b.extra);  // ddp_model(x, extra)
                                 return torch::nn::functional::cross_entropy(scores, b.labels);
                               });
  expect_same_parameters(alone, ranks);
}

TEST_F(DdpForward, AModelReturningATupleTrainsAsOneProcessOnTheWholeBatch) {
  const auto batches = random_batches();
  auto alone = seeded<TupleNet>();
  train_alone(alone, batches,
              [](TupleNet& model, const Batch& b) { return tuple_loss(model->forward(b.x), b); });
  auto ranks = train_two_ranks(seeded<TupleNet>(), batches,
                               [](DistributedDataParallel& ddp, TupleNet& model, const Batch& b) {
                                 return tuple_loss(ddp.forward(*model, b.x), b);
                               });
  expect_same_parameters(alone, ranks);
}

// A forward called some other way: prepare_forward(), then the model itself.
TEST_F(DdpForward, PrepareForwardThenTheModelsOwnCallTrainsAsOneProcess) {
  const auto batches = random_batches();
  auto alone = seeded<TwoInputNet>();
  train_alone(alone, batches, two_input_loss);
  auto ranks = train_two_ranks(seeded<TwoInputNet>(), batches,
                               [](DistributedDataParallel& ddp, TwoInputNet& model, const Batch& b) {
                                 ddp.prepare_forward();
                                 return two_input_loss(model, b);
                               });
  expect_same_parameters(alone, ranks);
}

// Without it the ranks would drift apart: the test above is not passing by luck.
TEST_F(DdpForward, WithoutPrepareForwardNothingIsAveragedAndTheRanksDiffer) {
  const auto batches = random_batches();
  auto ranks = train_two_ranks(seeded<TwoInputNet>(), batches,
                               [](DistributedDataParallel&, TwoInputNet& model, const Batch& b) {
                                 return two_input_loss(model, b);
                               });
  EXPECT_FALSE(torch::equal(ranks[0]->head->weight, ranks[1]->head->weight));
}
