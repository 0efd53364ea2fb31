// Intra-op threads: every core by default, --threads and SETOK_THREADS override.
#include <gtest/gtest.h>

#include <ATen/Parallel.h>

#include <cstdlib>

#include "core/runtime/error.h"
#include "core/runtime/threads.h"

TEST(Threads, DefaultsToAllCoresAndHonoursOverrides) {
  ::unsetenv("SETOK_THREADS");
  EXPECT_EQ(setok::configure_threads(), setok::available_cores());
  EXPECT_EQ(at::get_num_threads(), setok::available_cores());
  ::setenv("SETOK_THREADS", "1", 1);
  EXPECT_EQ(setok::configure_threads(), 1);
  EXPECT_EQ(setok::configure_threads(3), 3) << "an explicit request wins over the environment";
  ::setenv("SETOK_THREADS", "two", 1);
  EXPECT_THROW(setok::configure_threads(), setok::Error);
  ::setenv("SETOK_THREADS", "0", 1);
  EXPECT_THROW(setok::configure_threads(), setok::Error);
  EXPECT_THROW(setok::configure_threads(0), setok::Error);
  ::unsetenv("SETOK_THREADS");
  setok::configure_threads();
}
