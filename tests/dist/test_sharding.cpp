// Data-parallel arithmetic without MPI: row shards of a global batch, gradient buckets, launcher detection, the
// world of one, replica hashes, and a sharded BatchLoader whose rank batches put together are the global batch.
#include <gtest/gtest.h>

#include <cstdlib>
#include <vector>

#include "dist/synthetic_data.hpp"
#include "sq/core/error.hpp"
#include "sq/data/augment.hpp"
#include "sq/data/batch_loader.hpp"
#include "sq/dist/replica_check.hpp"
#include "sq/dist/sharding.hpp"
#include "sq/dist/world.hpp"

namespace {

TEST(DistSharding, RowShardsCoverTheGlobalBatchOnce) {
  for (int world : {1, 2, 4}) {
    std::int64_t next = 0;
    for (int r = 0; r < world; ++r) {
      const sq::dist::RowRange rows = sq::dist::shard_rows(128, world, r);
      EXPECT_EQ(rows.begin, next);
      EXPECT_EQ(rows.size(), 128 / world);
      next = rows.end;
    }
    EXPECT_EQ(next, 128);
  }
  EXPECT_EQ(sq::dist::per_rank_batch(128, 4, /*batch_is_global=*/true), 32);
  EXPECT_EQ(sq::dist::per_rank_batch(128, 4, /*batch_is_global=*/false), 128);
}

TEST(DistSharding, UnequalShardsAreRefusedWithWhatToDo) {
  try {
    sq::dist::shard_rows(10, 4, 0);
    FAIL() << "no error";
  } catch (const sq::Error& e) {
    EXPECT_NE(std::string(e.what()).find("multiple of the number of ranks"), std::string::npos) << e.what();
  }
  EXPECT_THROW(sq::dist::shard_rows(8, 2, 2), sq::Error);
}

TEST(DistSharding, EvaluationBatchesGoRoundRobin) {
  int owners[3] = {0, 0, 0};
  for (std::int64_t b = 0; b < 10; ++b) {
    int n = 0;
    for (int r = 0; r < 3; ++r) {
      if (sq::dist::owns_batch(b, 3, r)) {
        ++n;
        ++owners[r];
      }
    }
    EXPECT_EQ(n, 1) << "batch " << b;
  }
  EXPECT_EQ(owners[0], 4);
  EXPECT_EQ(owners[2], 3);
}

TEST(DistBuckets, BucketsTileTheArenaFromTheEnd) {
  const std::vector<sq::dist::Bucket> b = sq::dist::make_buckets(10, 4);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[0].begin, 6);
  EXPECT_EQ(b[0].end, 10);
  EXPECT_EQ(b[1].begin, 2);
  EXPECT_EQ(b[2].begin, 0);
  EXPECT_EQ(b[2].end, 2);
  EXPECT_TRUE(sq::dist::make_buckets(0, 4).empty());
  EXPECT_EQ(sq::dist::make_buckets(4, 4).size(), 1u);
}

TEST(DistLaunch, DetectsOpenMpiAndPmiFromTheEnvironment) {
  // Run by ctest as a plain process: clear what a launcher would set, then fake each.
  for (const char* v :
       {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_SIZE", "PMI_RANK",
        "PMIX_RANK", "SLURM_NTASKS", "SLURM_LOCALID", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_SIZE",
        "MPI_LOCALNRANKS", "SLURM_STEP_TASKS_PER_NODE", "SLURM_TASKS_PER_NODE", "PMIX_LOCAL_SIZE"}) {
    ::unsetenv(v);
  }
  EXPECT_FALSE(sq::dist::detect_launch().launched());
  EXPECT_EQ(sq::dist::detect_launch().size, 1);
  ::setenv("PMI_SIZE", "4", 1);
  ::setenv("PMI_RANK", "3", 1);
  ::setenv("SLURM_LOCALID", "1", 1);
  sq::dist::LaunchInfo pmi = sq::dist::detect_launch();
  EXPECT_EQ(pmi.launcher, "PMI");
  EXPECT_EQ(pmi.size, 4);
  EXPECT_EQ(pmi.rank, 3);
  EXPECT_EQ(pmi.local_rank, 1);
  EXPECT_EQ(pmi.local_size, 4) << "no per-node count: all ranks are taken as local (the smaller share of cores)";
  ::setenv("SLURM_STEP_TASKS_PER_NODE", "2(x2)", 1);
  EXPECT_EQ(sq::dist::detect_launch().local_size, 2) << "SLURM's per-node list";
  ::setenv("MPI_LOCALNRANKS", "3", 1);
  EXPECT_EQ(sq::dist::detect_launch().local_size, 3) << "MPICH's count comes first";
  ::setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
  ::setenv("OMPI_COMM_WORLD_RANK", "1", 1);
  ::setenv("OMPI_COMM_WORLD_LOCAL_RANK", "0", 1);
  sq::dist::LaunchInfo ompi = sq::dist::detect_launch();
  EXPECT_EQ(ompi.launcher, "Open MPI");
  EXPECT_EQ(ompi.size, 2);
  EXPECT_EQ(ompi.rank, 1);
  EXPECT_EQ(ompi.local_rank, 0);
  EXPECT_EQ(ompi.local_size, 2);
  ::setenv("OMPI_COMM_WORLD_LOCAL_SIZE", "1", 1);  // two nodes of one rank each
  EXPECT_EQ(sq::dist::detect_launch().local_size, 1);
  for (const char* v :
       {"OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "PMI_SIZE", "PMI_RANK",
        "SLURM_LOCALID", "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "SLURM_STEP_TASKS_PER_NODE"}) {
    ::unsetenv(v);
  }
}

TEST(DistCores, CpuRanksWithoutAChosenCountShareTheNode) {
  sq::dist::CoreShare s;
  s.world_size = 4;
  s.local_ranks = 4;
  s.node_cores = 16;
  s.usable_cores = 16;
  EXPECT_EQ(sq::dist::rank_cpu_threads(s), 4);
  s.local_ranks = 3;
  EXPECT_EQ(sq::dist::rank_cpu_threads(s), 5) << "16 / 3, rounded down: never more threads than cores";
  s.local_ranks = 2;  // 4 ranks on two nodes
  EXPECT_EQ(sq::dist::rank_cpu_threads(s), 8);
  s.usable_cores = 1;  // mpirun bound the rank to one core
  EXPECT_EQ(sq::dist::rank_cpu_threads(s), 1);
  s.usable_cores = 16;
  s.local_ranks = 32;  // more ranks than cores
  EXPECT_EQ(sq::dist::rank_cpu_threads(s), 1);
}

TEST(DistCores, AChosenCountAGpuOrAWorldOfOneKeepTheConfiguredThreads) {
  sq::dist::CoreShare s;
  s.world_size = 2;
  s.local_ranks = 2;
  s.node_cores = 8;
  s.usable_cores = 8;
  ASSERT_EQ(sq::dist::rank_cpu_threads(s), 4);
  sq::dist::CoreShare given = s;
  given.configured_threads = 6;
  EXPECT_EQ(sq::dist::rank_cpu_threads(given), 0) << "--threads wins";
  sq::dist::CoreShare env = s;
  env.threads_from_environment = true;
  EXPECT_EQ(sq::dist::rank_cpu_threads(env), 0) << "OMP_NUM_THREADS / SQ_CPU_THREADS win";
  sq::dist::CoreShare gpu = s;
  gpu.on_cpu = false;
  EXPECT_EQ(sq::dist::rank_cpu_threads(gpu), 0) << "GPU ranks";
  sq::dist::CoreShare alone = s;
  alone.world_size = 1;
  alone.local_ranks = 1;
  EXPECT_EQ(sq::dist::rank_cpu_threads(alone), 0) << "one process keeps every core";
}

TEST(DistWorld, AloneIsAWorldOfOneWithoutMpi) {
  const std::unique_ptr<sq::dist::Collective> world = sq::dist::make_world(sq::dist::LaunchInfo{});
  EXPECT_EQ(world->size(), 1);
  EXPECT_EQ(world->rank(), 0);
  double x[2] = {1.5, -2};
  world->all_reduce_sum(x, 2);
  EXPECT_EQ(x[0], 1.5);
  EXPECT_EQ(world->all_gather(7), std::vector<std::uint64_t>{7});
  if (!sq::dist::mpi_available()) {
    sq::dist::LaunchInfo two;
    two.size = 2;
    two.launcher = "Open MPI";
    EXPECT_THROW(sq::dist::make_world(two), sq::Error);
  }
}

TEST(DistReplica, HashSeesOneBitAndIdenticalWorldsPass) {
  std::vector<float> a(100, 0.25f);
  const std::uint64_t h = sq::dist::hash_floats(a.data(), 100);
  a[57] = std::nextafter(a[57], 1.f);
  EXPECT_NE(sq::dist::hash_floats(a.data(), 100), h);
  sq::dist::SelfCollective self;
  EXPECT_NO_THROW(sq::dist::check_identical(self, h, "weights", 3));
}

// Rank r of N builds rows [r B / N, (r + 1) B / N) of the same global batch: put together, the world-of-one batch
// bit for bit (order, augmentation draws and labels), at every step of two epochs.
TEST(DistLoader, ShardsOfAGlobalBatchAreItsRows) {
  const sq::data::Dataset data = sq::test::synthetic_dataset(40, 3, 8, 10, 11);
  const sq::data::Normalization norm = sq::data::compute_normalization(data);
  sq::data::AugmentOptions aug;
  aug.pad = 2;
  aug.crop = true;
  aug.flip = true;
  aug.out_height = aug.out_width = 8;
  sq::data::BatchLoader whole(data, sq::Device::cpu(), aug, norm, 8, 5, true);
  sq::data::BatchLoader r0(data, sq::Device::cpu(), aug, norm, 8, 5, true);
  sq::data::BatchLoader r1(data, sq::Device::cpu(), aug, norm, 8, 5, true);
  r0.set_shard(0, 2);
  r1.set_shard(1, 2);
  EXPECT_EQ(r1.batches_per_epoch(), whole.batches_per_epoch());
  for (std::uint64_t epoch = 0; epoch < 2; ++epoch) {
    whole.start_epoch(epoch);
    r0.start_epoch(epoch);
    r1.start_epoch(epoch);
    while (const sq::data::Batch* w = whole.next()) {
      const std::vector<float> wi = w->images.to_vector<float>();
      const std::vector<std::int32_t> wl = w->labels.to_vector<std::int32_t>();
      std::vector<float> si;
      std::vector<std::int32_t> sl;
      for (sq::data::BatchLoader* part : {&r0, &r1}) {
        const sq::data::Batch* b = part->next();
        ASSERT_NE(b, nullptr);
        ASSERT_EQ(b->size, 4);
        const std::vector<float> i = b->images.to_vector<float>();
        const std::vector<std::int32_t> l = b->labels.to_vector<std::int32_t>();
        si.insert(si.end(), i.begin(), i.end());
        sl.insert(sl.end(), l.begin(), l.end());
      }
      EXPECT_EQ(si, wi) << "epoch " << epoch << " batch " << w->index;
      EXPECT_EQ(sl, wl);
    }
    EXPECT_EQ(r0.next(), nullptr);
  }
  sq::data::BatchLoader odd(data, sq::Device::cpu(), aug, norm, 6, 5, true);
  EXPECT_THROW(odd.set_shard(0, 4), sq::Error);
}

}  // namespace
