// The shipped networks against published parameter and MAC totals. Every
// expected figure names its source, and where a closed form exists it is
// recomputed here independently of the IR (plain loops over the published
// layer tables), so a wrong layer in a YAML file cannot hide.
#include <catch2/catch.hpp>

#include <string>

#include "sim/workload/workload.h"

using namespace xpu::workload;

namespace {

Workload net(const std::string& file, const std::vector<std::string>& overrides = {}) {
  return load_workload(std::string(XPUSIM_SOURCE_DIR) + "/workloads/nets/" + file, overrides);
}


}  // namespace

TEST_CASE("ResNet-50 matches torchvision: 25,557,032 parameters, 4.09 G MACs") {
  const Workload w = net("resnet50.yaml");
  // torchvision.models.resnet50 (IMAGENET1K_V1/V2 weights page): 25,557,032
  // parameters (conv weights + BN gamma/beta + fc; BN running stats are
  // buffers), 4.09 GFLOPS (torchvision counts MACs).
  CHECK(w.param_count() == 25557032);
  // Closed form from the paper's Table 1, torchvision v1.5 layout: conv MACs
  // = Hout*Wout*Cout*Cin*K*K; BN parameters 2 per channel.
  uint64_t macs = 112ull * 112 * 64 * 3 * 49, params = 64ull * 3 * 49 + 2 * 64;
  struct Stage { uint64_t blocks, mid, hw, in; };
  const Stage stages[] = {{3, 64, 56, 64}, {4, 128, 28, 256}, {6, 256, 14, 512}, {3, 512, 7, 1024}};
  for (size_t s = 0; s < 4; ++s) {
    const auto& st = stages[s];
    for (uint64_t b = 0; b < st.blocks; ++b) {
      const uint64_t cin = b == 0 ? st.in : 4 * st.mid;
      const uint64_t hw_in = (b == 0 && s > 0) ? 2 * st.hw : st.hw;
      macs += hw_in * hw_in * st.mid * cin;                 // conv1 1x1 (stride 1)
      macs += st.hw * st.hw * st.mid * st.mid * 9;          // conv2 3x3 (stride here)
      macs += st.hw * st.hw * 4 * st.mid * st.mid;          // conv3 1x1
      params += st.mid * cin + st.mid * st.mid * 9 + 4 * st.mid * st.mid + 2 * (st.mid + st.mid + 4 * st.mid);
      if (b == 0) {
        macs += st.hw * st.hw * 4 * st.mid * cin;           // projection 1x1
        params += 4 * st.mid * cin + 2 * 4 * st.mid;
      }
    }
  }
  macs += 2048 * 1000;
  params += 2048 * 1000 + 1000;
  CHECK(params == 25557032);  // the closed form agrees with torchvision
  CHECK(w.macs() == macs);
  CHECK(w.macs() == 4089184256ull);  // = the closed form's value
  CHECK(double(w.macs()) == Approx(4.09e9).epsilon(0.005));
  // The output: [1, 1000]; 53 convs (49 + 4 projections) and one FC.
  CHECK(w.tensor(w.outputs.at(0)).shape == Shape{1, 1000});
  size_t convs = 0;
  for (const auto& l : w.layers) convs += l.op == OpKind::conv2d;
  CHECK(convs == 53);
}

TEST_CASE("ResNet-18 matches torchvision: 11,689,512 parameters, 1.81 G MACs") {
  const Workload w = net("resnet18.yaml");
  CHECK(w.param_count() == 11689512);  // torchvision resnet18 weights page
  // Closed form (paper Table 1, BasicBlock): stem 112^2*64*3*49; per stage
  // two blocks of two 3x3 convs; stages 2-4 start with a stride-2 3x3 conv
  // and a stride-2 1x1 projection.
  uint64_t macs = 112ull * 112 * 64 * 3 * 49;
  const uint64_t ch[] = {64, 128, 256, 512}, hw[] = {56, 28, 14, 7};
  for (int s = 0; s < 4; ++s) {
    const uint64_t c = ch[s], h = hw[s], cin = s ? ch[s - 1] : 64;
    macs += h * h * c * cin * 9 + 3 * h * h * c * c * 9;  // first conv, then three c->c convs
    if (s) macs += h * h * c * cin;                       // projection
  }
  macs += 512 * 1000;
  CHECK(w.macs() == macs);
  CHECK(w.macs() == 1814073344ull);
  CHECK(double(w.macs()) == Approx(1.81e9).epsilon(0.005));  // torchvision: 1.81 GFLOPS
}

TEST_CASE("VGG-16 matches torchvision: 138,357,544 parameters, 15.47 G MACs") {
  const Workload w = net("vgg16.yaml");
  CHECK(w.param_count() == 138357544);  // torchvision vgg16 weights page
  // Configuration D: (channels, convs, resolution) per stage; 3x3 convs
  // with bias; FC 25088 -> 4096 -> 4096 -> 1000.
  uint64_t macs = 0, params = 0, cin = 3;
  const uint64_t ch[] = {64, 128, 256, 512, 512}, n[] = {2, 2, 3, 3, 3}, hw[] = {224, 112, 56, 28, 14};
  for (int s = 0; s < 5; ++s)
    for (uint64_t i = 0; i < n[s]; ++i) {
      macs += hw[s] * hw[s] * ch[s] * cin * 9;
      params += ch[s] * cin * 9 + ch[s];
      cin = ch[s];
    }
  macs += 25088ull * 4096 + 4096ull * 4096 + 4096ull * 1000;
  params += 25088ull * 4096 + 4096 + 4096ull * 4096 + 4096 + 4096ull * 1000 + 1000;
  CHECK(params == 138357544);
  CHECK(w.macs() == macs);
  CHECK(w.macs() == 15470264320ull);
  CHECK(double(w.macs()) == Approx(15.47e9).epsilon(0.001));  // torchvision: 15.47 GFLOPS
}

TEST_CASE("AlexNet (torchvision variant): 61,100,840 parameters, 714 M MACs") {
  const Workload w = net("alexnet.yaml");
  // torchvision alexnet weights page: 61,100,840 parameters, 0.71 GFLOPS.
  // By layer: conv 3-64 k11 (23,296), 64-192 k5 (307,392), 192-384 k3
  // (663,936), 384-256 k3 (884,992), 256-256 k3 (590,080); fc 9216-4096
  // (37,752,832), 4096-4096 (16,781,312), 4096-1000 (4,097,000).
  CHECK(w.param_count() == 61100840);
  // conv outputs 55^2, 27^2, 13^2 x3: 55*55*64*363 + 27*27*192*1600 +
  // 13*13*(384*1728 + 256*3456 + 256*2304) + 9216*4096 + 4096^2 + 4096*1000.
  const uint64_t macs = 55ull * 55 * 64 * 363 + 27ull * 27 * 192 * 1600 +
                        13ull * 13 * (384ull * 1728 + 256ull * 3456 + 256ull * 2304) + 9216ull * 4096 +
                        4096ull * 4096 + 4096ull * 1000;
  CHECK(w.macs() == macs);
  CHECK(w.macs() == 714188480ull);
  CHECK(w.tensor("pool5").shape == Shape{1, 256, 6, 6});
}

TEST_CASE("MobileNetV2 matches torchvision: 3,504,872 parameters, ~300 M MACs") {
  const Workload w = net("mobilenet_v2.yaml");
  CHECK(w.param_count() == 3504872);  // torchvision mobilenet_v2 weights page
  // Closed form over the paper's Table 2 (t, c, n, s); the input of each
  // block is `cin` at resolution `hw`; depthwise 3x3 MACs = Hout*Wout*C*9.
  uint64_t macs = 112ull * 112 * 32 * 27, cin = 32, hw = 112;
  struct Row { uint64_t t, c, n, s; };
  const Row rows[] = {{1, 16, 1, 1}, {6, 24, 2, 2}, {6, 32, 3, 2}, {6, 64, 4, 2},
                      {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  for (const auto& r : rows)
    for (uint64_t i = 0; i < r.n; ++i) {
      const uint64_t stride = i == 0 ? r.s : 1, hidden = cin * r.t, out_hw = hw / stride;
      if (r.t != 1) macs += hw * hw * hidden * cin;    // expand 1x1
      macs += out_hw * out_hw * hidden * 9;            // depthwise 3x3
      macs += out_hw * out_hw * r.c * hidden;          // project 1x1
      cin = r.c;
      hw = out_hw;
    }
  macs += 7 * 7 * 1280 * 320 + 1280 * 1000;
  CHECK(w.macs() == macs);
  CHECK(w.macs() == 300774272ull);
  CHECK(double(w.macs()) == Approx(300e6).epsilon(0.01));  // paper Table 4: 300 M multiply-adds
  // The depthwise convs are grouped: 17 blocks, one dw conv each, groups = channels.
  size_t dw = 0;
  for (const auto& l : w.layers)
    if (l.op == OpKind::conv2d && l.attrs.groups > 1) {
      ++dw;
      CHECK(l.gemm_count == uint64_t(l.attrs.groups));
      CHECK(l.n == 1);
      CHECK(l.k == 9);
    }
  CHECK(dw == 17);
}

TEST_CASE("LeNet-5: 61,706 parameters and 416,520 MACs") {
  const Workload w = net("lenet5.yaml");
  // C1 6*(25+1) = 156; C3 16*(6*25+1) = 2,416; C5 120*(16*25+1) = 48,120;
  // F6 84*(120+1) = 10,164; output 10*(84+1) = 850 -> 61,706.
  CHECK(w.param_count() == 156 + 2416 + 48120 + 10164 + 850);
  // C1 28^2*6*25 = 117,600; C3 10^2*16*150 = 240,000; C5 120*400 = 48,000;
  // F6 120*84 = 10,080; output 84*10 = 840 -> 416,520.
  CHECK(w.macs() == 117600 + 240000 + 48000 + 10080 + 840);
  CHECK(w.tensor("output").shape == Shape{1, 10});
}

TEST_CASE("MLP0: five 2000x2000 FC layers at batch 200, 20 M weights") {
  const Workload w = net("mlp0.yaml");
  CHECK(w.param_count() == 5 * (2000 * 2000 + 2000));  // 20.01 M with biases
  CHECK(w.macs() == 5ull * 200 * 2000 * 2000);         // 4.0 G MACs per batch
  CHECK(w.dtype == xpu::DType::int8);
  // TPU paper Table 1: MLP0's operational intensity is 200 at batch 200 --
  // each weight is used once per row of the batch.
  CHECK(w.macs() / (5 * 2000 * 2000) == 200);
  // Batch is a parameter.
  const Workload b8 = net("mlp0.yaml", {"params.batch=8"});
  CHECK(b8.macs() == 5ull * 8 * 2000 * 2000);
  CHECK(b8.layers.front().m == 8);
}

TEST_CASE("BERT-base encoder layer: 7,087,872 parameters, MACs at seq 128 and 512") {
  const Workload w = net("bert_base_layer.yaml");
  // 4 x (768^2 + 768) attention projections + 2 x 768 layernorm
  // + (768*3072 + 3072) + (3072*768 + 768) FFN + 2 x 768 layernorm.
  CHECK(w.param_count() == 4 * (768 * 768 + 768) + 2 * 768 + 768 * 3072 + 3072 + 3072 * 768 + 768 + 2 * 768);
  CHECK(w.param_count() == 7087872);
  // S = 128: 4*128*768^2 (301,989,888) + 2*12*128^2*64 (25,165,824)
  //        + 2*128*768*3072 (603,979,776) = 931,135,488.
  CHECK(w.macs() == 931135488ull);
  // The attention matmuls are batched GEMMs (12 heads) against activations.
  const Layer* scores = w.find_layer("scores");
  REQUIRE(scores);
  CHECK(scores->gemm_count == 12);
  CHECK((scores->m == 128 && scores->n == 128 && scores->k == 64));
  CHECK_FALSE(scores->b_is_weight);
  const Layer* q = w.find_layer("q.proj");
  REQUIRE(q);
  CHECK((q->gemm_count == 1 && q->m == 128 && q->n == 768 && q->k == 768 && q->b_is_weight && q->has_bias));
  // S = 512: 4*512*768^2 + 2*12*512^2*64 + 2*512*768*3072 = 4,026,531,840.
  const Workload w512 = net("bert_base_layer.yaml", {"params.seq=512"});
  CHECK(w512.macs() == 4026531840ull);
  CHECK(w512.param_count() == 7087872);
}

TEST_CASE("GPT-2 small layer: prefill and single-token decode against the KV cache") {
  const Workload p = net("gpt2_layer_prefill.yaml");
  // c_attn 768*2304 + 2304, c_proj 768^2 + 768, c_fc 768*3072 + 3072,
  // c_proj 3072*768 + 768, ln_1 and ln_2 2*768 each = 7,087,872.
  CHECK(p.param_count() == 768 * 2304 + 2304 + 768 * 768 + 768 + 768 * 3072 + 3072 + 3072 * 768 + 768 + 4 * 768);
  CHECK(p.macs() == 931135488ull);  // same shapes as the BERT layer at S = 128
  const Workload d = net("gpt2_layer_decode.yaml");
  CHECK(d.param_count() == p.param_count());
  // P = 127 cached + 1 new: projections 4*768^2 (2,359,296), FFN
  // 2*768*3072 (4,718,592), attention 2*12*128*64 (196,608) = 7,274,496.
  CHECK(d.macs() == 7274496ull);
  const Layer* scores = d.find_layer("scores");
  REQUIRE(scores);
  CHECK((scores->gemm_count == 12 && scores->m == 1 && scores->k == 64 && scores->n == 128));
  const Layer* ctx = d.find_layer("context");
  REQUIRE(ctx);
  CHECK((ctx->gemm_count == 12 && ctx->m == 1 && ctx->k == 128 && ctx->n == 64));
  CHECK(d.tensor("present_k").shape == Shape{1, 12, 64, 128});
  CHECK(d.tensor("present_v").shape == Shape{1, 12, 128, 64});
  // Decode is matrix-vector work: every projection has M = batch = 1.
  CHECK(d.find_layer("mlp_fc")->m == 1);
  const Workload d4 = net("gpt2_layer_decode.yaml", {"params.batch=4", "params.past=511"});
  CHECK(d4.find_layer("mlp_fc")->m == 4);
  CHECK(d4.find_layer("scores")->gemm_count == 48);
  CHECK(d4.find_layer("scores")->n == 512);
}

TEST_CASE("Every shipped network loads with batch 2 and scales its MACs linearly") {
  for (const char* f : {"resnet18.yaml", "resnet50.yaml", "vgg16.yaml", "alexnet.yaml", "mobilenet_v2.yaml",
                        "lenet5.yaml", "bert_base_layer.yaml", "gpt2_layer_prefill.yaml", "gpt2_layer_decode.yaml"}) {
    INFO(f);
    const Workload one = net(f), two = net(f, {"params.batch=2"});
    CHECK(two.macs() == 2 * one.macs());
    CHECK(two.param_count() == one.param_count());
  }
}
