#pragma once
// The paper's Figure 1 side by side: the same image as SeTok tokens, a fixed patch grid and a
// fixed-K clustering (DPC-KNN with K = the SeTok token count).
#include <QImage>
#include <QWidget>

#include "ui/engine_bridge.h"

namespace setok::ui {

class ComparisonView : public QWidget {
  Q_OBJECT
 public:
  explicit ComparisonView(QWidget* parent = nullptr);
  void setResult(const ComparePtr& result);
  void setPending(bool pending);
  const engine::ClusterCompareResult* result() const { return result_.get(); }

 protected:
  void paintEvent(QPaintEvent* e) override;

 private:
  ComparePtr result_;
  QImage panes_[3];
  bool pending_ = false;
};

}  // namespace setok::ui
