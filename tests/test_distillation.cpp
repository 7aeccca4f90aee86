// Distilling a guided teacher's run into a few-step student: the DDIM inversion its targets rest on,
// the student's start and the teacher's recorded runs, learning, the checks on its config, and the
// lab drawing with a student that lies beside its teacher.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "core/diffusion/diffusion_lab.h"
#include "core/diffusion/distillation.h"

using namespace genlab;

namespace {

// 8x8 images of two classes: a bright square in the middle (0) and a bright border (1).
std::shared_ptr<const Dataset> two_shapes() {
  auto d = std::make_shared<Dataset>();
  d->spec = "synthetic:shapes";
  d->channels = 1;
  d->height = d->width = 8;
  d->class_names = {"square", "border"};
  d->train.count = 16;
  for (int i = 0; i < 16; ++i) {
    for (int y = 0; y < 8; ++y)
      for (int x = 0; x < 8; ++x) {
        const bool border = x == 0 || y == 0 || x == 7 || y == 7, middle = x >= 2 && x < 6 && y >= 2 && y < 6;
        d->train.pixels.push_back((i % 2 ? border : middle) ? 255 : 0);
      }
    d->train.labels.push_back(i % 2);
  }
  return d;
}

// A small guided teacher after a few steps: its predictions differ by class.
std::unique_ptr<DiffusionTrainer> teacher(const std::shared_ptr<const Dataset>& data) {
  DiffusionConfig c;
  c.unet.base = 8;
  c.unet.mid = 16;
  c.unet.time_dim = 32;
  c.batch_size = 16;
  c.learning_rate = 3e-3f;
  c.ema_decay = 0.5f;
  c.seed = 3;
  auto t = std::make_unique<DiffusionTrainer>(c, data);
  for (int i = 0; i < 30; ++i) t->train_step();
  return t;
}

// A 2-step student of the teacher's 4-step DPM-Solver++ run.
DistillConfig two_steps(int trajectories) {
  DistillConfig c;
  c.steps = 2;
  c.trajectories = trajectories;
  c.w_max = 4;
  c.batch_size = 16;
  c.learning_rate = 2e-3f;
  c.ema_decay = 0.5f;
  c.seed = 5;
  return c;
}

std::string temp_dir(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "genlab_" + name + "_" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  return dir;
}

}  // namespace

TEST(Distillation, TheDdimEpsTowardsATargetLandsOnIt) {
  const NoiseSchedule sch = NoiseSchedule::make(BetaSchedule::Linear, 1000);
  torch::manual_seed(2);
  auto x = torch::randn({3, 1, 8, 8}), target = 0.5 * torch::randn({3, 1, 8, 8});
  for (auto [t, s] : {std::pair{1000, 800}, std::pair{37, 36}, std::pair{200, 0}}) {
    SamplerWalk walk(SamplerKind::DDIM, sch, x, s ? std::vector<int>{t, s} : std::vector<int>{t}, 0.0, 1);
    EXPECT_TRUE(torch::allclose(walk.advance(ddim_eps_towards(sch, x, t, s, target)).x_next, target, 1e-4, 1e-4))
        << t << " -> " << s;
  }
}

TEST(Distillation, TheStudentStartsAsItsTeachersConditionalNetAndRecordsItsRuns) {
  auto data = two_shapes();
  auto t = teacher(data);
  DistillTrainer student(two_steps(6), *t, "teacher.safetensors", data->spec, "dpmpp2m", 4);
  const DiffusionConfig& c = student.student_config();
  EXPECT_TRUE(c.unet.guidance_input);
  EXPECT_EQ(c.distilled.steps, 2);
  EXPECT_EQ(c.distilled.teacher, "teacher.safetensors");
  EXPECT_EQ(c.distilled.teacher_steps, 4);
  // The zero guidance input: whatever w, the teacher's conditional prediction.
  torch::manual_seed(3);
  auto x = torch::randn({2, 1, 8, 8});
  auto labels = torch::tensor({0, 1}, torch::kLong);
  auto cond = t->denoiser(labels, 1.0)(x, 500);
  {
    torch::NoGradGuard no_grad;
    student.ema()->eval();
    auto own = student.ema()->forward(x, torch::full({2}, 499, torch::kLong), labels, torch::tensor({0.f, 3.f}));
    EXPECT_TRUE(torch::allclose(own, cond, 1e-5, 1e-6));
  }
  EXPECT_THROW(student.train_once(), std::logic_error);  // nothing recorded yet

  ASSERT_TRUE(student.record_trajectories({}, 4));  // two chunks
  EXPECT_EQ(student.recorded(), 6);
  const torch::Tensor& xs = student.recorded_x();
  ASSERT_EQ(xs.sizes(), (std::vector<int64_t>{6, 3, 1, 8, 8}));
  EXPECT_GT(student.recorded_scales().max().item<double>(), student.recorded_scales().min().item<double>());
  // Each run's boundaries are the teacher's own run at its class and w: x after its steps 2 and 4.
  for (int i : {0, 5}) {
    std::vector<torch::Tensor> after;
    sample_timesteps(SamplerKind::DPMSolverPP2M, t->schedule(),
                     t->denoiser(student.recorded_labels().narrow(0, i, 1), student.recorded_scales()[i].item<double>()),
                     xs[i][0].unsqueeze(0), sampling_timesteps(1000, 4), 0.0, 1,
                     [&](const SamplerStep& step) {
                       after.push_back(step.x_next);
                       return true;
                     },
                     1.0);
    ASSERT_EQ(after.size(), 4u);
    EXPECT_TRUE(torch::allclose(xs[i][1], after[1][0], 1e-4, 1e-5)) << i;
    EXPECT_TRUE(torch::allclose(xs[i][2], after[3][0], 1e-4, 1e-5)) << i;
  }
}

TEST(Distillation, TrainingPullsTheStudentsFewStepsOntoTheTeachersRun) {
  auto data = two_shapes();
  auto t = teacher(data);
  DistillTrainer student(two_steps(32), *t, "teacher.safetensors", data->spec, "dpmpp2m", 4);
  ASSERT_TRUE(student.record_trajectories());
  const torch::Tensor& xs = student.recorded_x();
  // The student's 2 DDIM steps from each recorded x_T, against where the teacher's 4 steps ended.
  auto distance = [&] {
    torch::NoGradGuard no_grad;
    student.ema()->eval();
    const Denoiser own = [&](const torch::Tensor& x, int step_t) {
      return student.ema()->forward(x, torch::full({x.size(0)}, step_t - 1, torch::kLong), student.recorded_labels(),
                                    student.recorded_scales());
    };
    auto end = sample_timesteps(SamplerKind::DDIM, t->schedule(), own, xs.select(1, 0), {1000, 500}, 0.0, 1, {}, 0.0).x;
    return (end - xs.select(1, 2)).pow(2).mean().item<double>();
  };
  const double before = distance();
  for (int i = 0; i < 150; ++i) student.train_once();
  const double after = distance();
  EXPECT_LT(after, 0.5 * before) << "before " << before << ", after " << after;
  EXPECT_NEAR(student.epoch(), 150.0 * 16 / (32 * 2), 1e-9);

  // Saved as a ddpm checkpoint that samples in its own steps, whatever sampler it is asked for.
  const std::string path = temp_dir("student") + "/s.safetensors";
  student.save(path);
  const DiffusionConfig c = read_diffusion_config(path);
  EXPECT_EQ(c.distilled.steps, 2);
  DiffusionTrainer loaded(c, blank_dataset(1, 8, 8, 2));
  loaded.resume(path);
  Samples s = diffusion_samples(loaded, "ddpm", 1000, 2.0)(4, 1, {});
  EXPECT_EQ(s.images.sizes(), (std::vector<int64_t>{4, 1, 8, 8}));
  EXPECT_GE(s.images.min().item<float>(), 0.f);
  EXPECT_THROW(loaded.train_step(), std::invalid_argument);  // a student learns from its teacher only
}

TEST(Distillation, ConfigsAndRunsAStudentDoesNotFitAreRefused) {
  const DistilledFrom five{5, "t.safetensors", "dpmpp2m", 20, 8};
  SamplingParams p;  // DPM-Solver++ 20 steps, w 3: the app's default run
  EXPECT_EQ(student_mismatch(five, p), "");
  p.steps = 30;
  EXPECT_EQ(student_mismatch(five, p), "it stands for DPM-Solver++(2M) 20 steps");
  p.steps = 20;
  p.cfg_schedule = "linear-up";
  EXPECT_EQ(student_mismatch(five, p), "it learnt a constant w");
  p.cfg_schedule = "constant";
  p.cfg = 9;
  EXPECT_EQ(student_mismatch(five, p), "it stands in for w in 1..8");
  p.cfg = 0;  // the unconditional end stays the teacher's
  EXPECT_EQ(student_mismatch(five, p), "it stands in for w in 1..8");
  EXPECT_EQ(student_mismatch(DistilledFrom{}, SamplingParams{}), "not a student");

  DiffusionConfig c;
  c.unet.guidance_input = true;
  c.distilled = five;
  const DiffusionConfig back = DiffusionConfig::from_json(c.to_json());
  EXPECT_EQ(back.to_json(), c.to_json());
  EXPECT_EQ(back.distilled.teacher, "t.safetensors");
  EXPECT_EQ(DiffusionConfig::from_json(DiffusionConfig{}.to_json()).distilled.steps, 0);  // a teacher's file
  c.distilled.teacher_steps = 12;  // 5 steps cannot each stand for a whole number of 12
  EXPECT_THROW(DiffusionConfig::from_json(c.to_json()), std::invalid_argument);
  c.distilled.teacher_steps = 20;
  c.unet.guidance_input = false;
  EXPECT_THROW(DiffusionConfig::from_json(c.to_json()), std::invalid_argument);

  auto data = two_shapes();
  auto t = teacher(data);
  DistillConfig three = two_steps(4);
  three.steps = 3;  // does not divide the teacher's 4
  EXPECT_THROW(DistillTrainer(three, *t, "t", data->spec, "dpmpp2m", 4), std::invalid_argument);
  DiffusionConfig unconditional;
  unconditional.conditional = false;
  DiffusionTrainer plain(unconditional, data);
  EXPECT_THROW(DistillTrainer(two_steps(4), plain, "t", data->spec, "dpmpp2m", 4), std::invalid_argument);
}

TEST(DistillationLab, AStudentBesideItsTeacherDrawsTheRunsItStandsFor) {
  const std::string dir = temp_dir("student_lab");
  auto data = two_shapes();
  auto t = teacher(data);
  t->save(dir + "/teach.safetensors");
  {
    DistillTrainer student(two_steps(4), *t, "teach.safetensors", data->spec, "dpmpp2m", 4);
    ASSERT_TRUE(student.record_trajectories());
    for (int i = 0; i < 3; ++i) student.train_once();
    student.save(dir + "/teach-student.safetensors");
  }
  Session session(1);
  DiffusionLab& lab = session.lab<DiffusionLab>();
  lab.load(dir + "/teach.safetensors");
  session.worker().wait_idle();
  ASSERT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
  const DiffusionModelView model = lab.model().get()->value;
  EXPECT_EQ(model.student.steps, 2);
  EXPECT_EQ(model.student_checkpoint, dir + "/teach-student.safetensors");

  SamplingParams p;
  p.steps = 4;  // the run the student stands for
  p.n = 2;
  auto run = [&](const SamplingParams& params, bool use_student) {
    lab.sample(params, use_student);
    session.worker().wait_idle();
    EXPECT_TRUE(session.worker().status()->value.error.empty()) << session.worker().status()->value.error;
    return lab.sampling().get()->value;
  };
  const SamplingView by_student = run(p, true);
  EXPECT_TRUE(by_student.by_student);
  EXPECT_TRUE(by_student.done);
  ASSERT_EQ(by_student.frames.size(), 2u);
  EXPECT_EQ(by_student.frames[0]->t_next, 500);  // where the teacher's step 2 ends
  EXPECT_EQ(by_student.frames[1]->t_next, 0);
  EXPECT_FALSE(by_student.frames[0]->eps.image.pixels.empty());
  EXPECT_TRUE(by_student.frames[0]->eps_cond.image.pixels.empty());  // guidance folded into one call
  // A branch from the student's first step goes on with the teacher, down its own grid below t = 500.
  SamplingParams steer = p;
  steer.cfg = 1.5;
  lab.branch(steer, 0);
  session.worker().wait_idle();
  const SamplingView branch = lab.branch_view().get()->value;
  EXPECT_FALSE(branch.by_student);
  ASSERT_EQ(branch.frames.size(), 2u);  // 500 -> 250 -> 0
  EXPECT_EQ(branch.frames[0]->t, 500);

  const SamplingView by_teacher = run(p, false);
  EXPECT_FALSE(by_teacher.by_student);
  EXPECT_EQ(by_teacher.frames.size(), 4u);
  p.steps = 6;  // not the student's run
  EXPECT_EQ(run(p, true).frames.size(), 6u);

  // The student's own file opens its teacher with it; without the teacher it is one line naming it.
  lab.load(dir + "/teach-student.safetensors");
  session.worker().wait_idle();
  EXPECT_EQ(lab.model().get()->value.checkpoint, dir + "/teach.safetensors");
  EXPECT_EQ(lab.model().get()->value.student.steps, 2);
  std::filesystem::rename(dir + "/teach.safetensors", dir + "/moved.safetensors");
  lab.load(dir + "/teach-student.safetensors");
  session.worker().wait_idle();
  EXPECT_NE(session.worker().status()->value.error.find("its teacher teach.safetensors is not beside it"),
            std::string::npos)
      << session.worker().status()->value.error;
  std::filesystem::remove_all(dir);
}
