// The stall probe that the inspector's no-stall test relies on: work done on the GUI thread shows
// in its own gap, and a quiet event loop shows none.
#include <gtest/gtest.h>
#include <time.h>
#include <QTest>
#include <QTimer>

#include "ui/stall_probe.h"

TEST(StallProbe, SeesWorkDoneOnTheGuiThread) {
  setok::ui::StallProbe probe;
  probe.start();
  QTest::qWait(100);
  const double quiet = probe.worstOwnMs();
  QTimer::singleShot(20, [] {  // 120 ms of this thread's CPU, however long the machine makes it take
    const auto cpu_ms = [] {
      timespec ts{};
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
      return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
    };
    const double start = cpu_ms();
    while (cpu_ms() - start < 120.0) {
    }
  });
  QTest::qWait(300);
  probe.stop();
  EXPECT_LT(quiet, 50.0) << "an idle event loop";
  EXPECT_GE(probe.worstOwnMs(), 100.0) << "120 ms of work in one handler";
  EXPECT_GE(probe.worstMs(), probe.worstOwnMs());
}
