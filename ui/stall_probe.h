#pragma once
// Measures how long the GUI thread's event loop goes without turning: a timer ticks every few
// milliseconds and the longest gap between ticks is the worst stall a user could have felt.
//
// Two figures. The wall gap is what the user felt, whatever its cause. The own gap leaves out the
// time the GUI thread was ready to run but waiting for a CPU (Linux's per-thread run delay in
// /proc/thread-self/schedstat): what remains is time the thread spent working or blocked in our
// code, which no other process on the machine can lengthen. Where the kernel gives no run delay,
// the own gap equals the wall gap.
#include <QElapsedTimer>
#include <QTimer>
#include <algorithm>
#include <cstdio>

namespace setok::ui {

class StallProbe {
 public:
  explicit StallProbe(int intervalMs = 5) {
    timer_.setInterval(intervalMs);
    timer_.setTimerType(Qt::PreciseTimer);
    QObject::connect(&timer_, &QTimer::timeout, [this] { tick(); });
  }
  void start() {
    worstNs_ = worstOwnNs_ = 0;
    ticks_ = 0;
    clock_.start();
    lastNs_ = 0;
    lastDelayNs_ = runDelayNs(&lastCpuNs_);
    worstCpuNs_ = 0;
    timer_.start();
  }
  void stop() { timer_.stop(); }
  double worstMs() const { return worstNs_ / 1e6; }
  double worstOwnMs() const { return worstOwnNs_ / 1e6; }
  double worstCpuMs() const { return worstCpuNs_ / 1e6; }
  int ticks() const { return ticks_; }

 private:
  void tick() {
    const qint64 now = clock_.nsecsElapsed();
    qint64 cpu = 0;
    const qint64 delay = runDelayNs(&cpu);
    const qint64 gap = now - lastNs_;
    worstNs_ = std::max(worstNs_, gap);
    worstOwnNs_ = std::max(worstOwnNs_, std::max<qint64>(0, gap - (delay - lastDelayNs_)));
    lastNs_ = now;
    worstCpuNs_ = std::max(worstCpuNs_, cpu - lastCpuNs_);
    lastDelayNs_ = delay;
    lastCpuNs_ = cpu;
    ++ticks_;
  }
  // Nanoseconds the calling thread has spent runnable but not running; 0 where unknown.
  static qint64 runDelayNs(qint64* cpu = nullptr) {
    std::FILE* f = std::fopen("/proc/thread-self/schedstat", "r");
    if (!f) return 0;
    unsigned long long run = 0, wait = 0;
    const int n = std::fscanf(f, "%llu %llu", &run, &wait);
    std::fclose(f);
    if (cpu) *cpu = n == 2 ? static_cast<qint64>(run) : 0;
    return n == 2 ? static_cast<qint64>(wait) : 0;
  }

  QTimer timer_;
  QElapsedTimer clock_;
  qint64 lastNs_ = 0, worstNs_ = 0, lastDelayNs_ = 0, worstOwnNs_ = 0, lastCpuNs_ = 0, worstCpuNs_ = 0;
  int ticks_ = 0;
};

}  // namespace setok::ui
