#pragma once
// Measures how long the GUI thread's event loop goes without turning: a timer ticks every few
// milliseconds and the longest gap between ticks is the worst stall a user could have felt.
#include <QElapsedTimer>
#include <QTimer>
#include <algorithm>

namespace setok::ui {

class StallProbe {
 public:
  explicit StallProbe(int intervalMs = 5) {
    timer_.setInterval(intervalMs);
    timer_.setTimerType(Qt::PreciseTimer);
    QObject::connect(&timer_, &QTimer::timeout, [this] {
      const qint64 now = clock_.nsecsElapsed();
      worstNs_ = std::max(worstNs_, now - lastNs_);
      lastNs_ = now;
      ++ticks_;
    });
  }
  void start() {
    worstNs_ = 0;
    ticks_ = 0;
    clock_.start();
    lastNs_ = 0;
    timer_.start();
  }
  void stop() { timer_.stop(); }
  double worstMs() const { return worstNs_ / 1e6; }
  int ticks() const { return ticks_; }

 private:
  QTimer timer_;
  QElapsedTimer clock_;
  qint64 lastNs_ = 0, worstNs_ = 0;
  int ticks_ = 0;
};

}  // namespace setok::ui
