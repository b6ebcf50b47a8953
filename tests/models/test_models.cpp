// Models: output shapes, parameter counts (He et al. 2016, the tutorial's MLP),
// parameter names, and cloning (which DataParallel relies on).
#include "models/model_factory.h"
#include "models/resnet_cifar.h"

#include "core/errors.h"

#include <gtest/gtest.h>

using namespace tutorial;

TEST(Models, MlpMatchesTheTutorial) {
  auto model = make_model("mlp", {1, 28, 28}, 10);
  EXPECT_EQ(count_parameters(*model.module()), 784 * 512 + 512 + 512 * 512 + 512 + 512 * 10 + 10);
  std::vector<std::string> names;
  for (const auto& p : model->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{
                       "linear_relu_stack.0.weight", "linear_relu_stack.0.bias",
                       "linear_relu_stack.2.weight", "linear_relu_stack.2.bias",
                       "linear_relu_stack.4.weight", "linear_relu_stack.4.bias"}));
  EXPECT_EQ(model.forward(torch::rand({5, 1, 28, 28})).sizes(), (std::vector<int64_t>{5, 10}));
}

TEST(Models, ResNetParameterCountsMatchThePaper) {
  // He et al. 2016, Table 6: 0.27M, 0.85M, 1.7M (exact counts with 10 classes).
  EXPECT_EQ(count_parameters(*make_model("resnet20", {3, 32, 32}, 10).module()), 269722);
  EXPECT_EQ(count_parameters(*make_model("resnet32", {3, 32, 32}, 10).module()), 464154);
  EXPECT_EQ(count_parameters(*make_model("resnet56", {3, 32, 32}, 10).module()), 853018);
  EXPECT_EQ(count_parameters(*make_model("resnet110", {3, 32, 32}, 10).module()), 1727962);
}

TEST(Models, ResNetTrainsOnBothImageShapes) {
  for (ImageShape shape : {ImageShape{3, 32, 32}, ImageShape{1, 28, 28}}) {
    auto model = make_model("resnet20", shape, 7);
    auto out = model.forward(torch::rand({4, shape.channels, shape.height, shape.width}));
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{4, 7}));
    out.sum().backward();
    for (const auto& p : model->parameters()) {
      ASSERT_TRUE(p.grad().defined());
    }
  }
}

TEST(Models, CloneKeepsNamesAndValues) {
  for (const std::string name : {"mlp", "resnet20"}) {
    auto model = make_model(name, {3, 32, 32}, 10);
    auto copy = model->clone();
    auto original = model->named_parameters();
    auto cloned = copy->named_parameters();
    ASSERT_EQ(original.size(), cloned.size()) << name;
    for (const auto& p : original) {
      ASSERT_TRUE(cloned.contains(p.key())) << name << ": " << p.key();
      EXPECT_TRUE(torch::equal(p.value(), cloned[p.key()])) << p.key();
      EXPECT_NE(p.value().data_ptr(), cloned[p.key()].data_ptr()) << "a deep copy";
    }
    EXPECT_EQ(model->named_buffers().size(), copy->named_buffers().size());
  }
}

TEST(Models, SameSeedSameInitialisation) {
  torch::manual_seed(3);
  auto a = make_model("resnet20", {3, 32, 32}, 10);
  torch::manual_seed(3);
  auto b = make_model("resnet20", {3, 32, 32}, 10);
  auto pa = a->parameters(), pb = b->parameters();
  for (size_t i = 0; i < pa.size(); ++i) EXPECT_TRUE(torch::equal(pa[i], pb[i]));
}

TEST(Models, UnknownNameIsAUserError) {
  EXPECT_THROW(make_model("resnet21", {3, 32, 32}, 10), UserError);
  EXPECT_THROW(make_model("vgg", {3, 32, 32}, 10), UserError);
}

// The downsampling shortcut takes every other pixel and zero-pads the extra
// channels (option A), and its backward keeps the input's layout: in
// channels-last, a strided slice's backward gave an NCHW gradient, and
// ReLU's backward over mixed layouts ran 8x slower on a CPU.
TEST(Models, DownsamplingShortcutIsOptionAAndItsBackwardKeepsTheLayout) {
  for (const auto format : {torch::MemoryFormat::Contiguous, torch::MemoryFormat::ChannelsLast}) {
    torch::manual_seed(0);
    BasicBlock block(16, 32, 2);
    block->eval();  // BatchNorm's running statistics: the output depends on the input alone
    auto x = torch::randn({2, 16, 9, 9}).contiguous(format).requires_grad_();
    auto y = block->forward(x);
    ASSERT_EQ(y.sizes(), (std::vector<int64_t>{2, 32, 5, 5}));
    // As inside the model: autograd sums the two paths' gradients.
    const auto grad = torch::autograd::grad({y.sum()}, {x}).front();
    EXPECT_TRUE(grad.is_contiguous(format)) << format;

    // The same output with the shortcut written out: every other pixel, 8
    // zero channels either side.
    torch::NoGradGuard no_grad;
    auto children = block->named_children();
    auto* conv1 = children["conv1"]->as<torch::nn::Conv2d>();
    auto* conv2 = children["conv2"]->as<torch::nn::Conv2d>();
    auto* bn1 = children["bn1"]->as<torch::nn::BatchNorm2d>();
    auto* bn2 = children["bn2"]->as<torch::nn::BatchNorm2d>();
    auto out = bn2->forward(conv2->forward(bn1->forward(conv1->forward(x)).relu()));
    auto pixels = x.slice(2, 0, c10::nullopt, 2).slice(3, 0, c10::nullopt, 2);
    auto zeros = torch::zeros({2, 8, 5, 5});
    auto expected = (out + torch::cat({zeros, pixels, zeros}, 1)).relu();
    EXPECT_TRUE(torch::allclose(y, expected, 1e-6, 1e-6)) << format;
  }
}

TEST(Models, EveryBatchNormRunsThroughTheSetFunctionClonesIncluded) {
  // --sync-bn's hook: every BatchNorm layer's forward goes through it, and a
  // clone (DataParallel's replicas) keeps it.
  ResNetCifar resnet(20, 3, 10);
  EXPECT_EQ(count_batch_norm_layers(*resnet), 19);  // the stem's and 2 per block
  EXPECT_EQ(count_batch_norm_layers(*make_model("mlp", {1, 8, 8}, 10).module()), 0);
  auto calls = std::make_shared<int64_t>(0);
  resnet->set_batch_norm([calls](torch::nn::BatchNorm2dImpl& bn, const torch::Tensor& x) {
    ++*calls;
    return bn.forward(x) * 0;  // all zero: the hook's output is what the model uses
  });
  const auto input = torch::rand({2, 3, 8, 8});
  const auto out = resnet->forward(input);
  EXPECT_EQ(*calls, 19);
  // Every activation is zero, so only the classifier's bias is left.
  const auto fc_bias = resnet->named_parameters()["fc.bias"];
  EXPECT_TRUE(torch::allclose(out, fc_bias.expand({2, 10})));
  auto clone = std::dynamic_pointer_cast<ResNetCifarImpl>(resnet->clone());
  ASSERT_TRUE(clone);
  clone->forward(input);
  EXPECT_EQ(*calls, 38) << "the clone's layers run through it too";
  resnet->set_batch_norm({});
  resnet->forward(input);
  EXPECT_EQ(*calls, 38) << "an empty function: the layers' own forward";
}
