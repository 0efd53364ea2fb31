#pragma once
// The Tokens dock panel: cluster parameters (changed live), overlay settings and the token list,
// sortable by area and seed score, whose selection mirrors the canvas's.
#include <QSet>
#include <QWidget>

#include "ui/engine_bridge.h"

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QLabel;
class QSlider;
class QSpinBox;
class QTableWidget;
class QVBoxLayout;

namespace setok::ui {

class TokensPanel : public QWidget {
  Q_OBJECT
 public:
  enum Column { kToken, kAreaPercent, kArea, kScore, kDensity, kBox, kColumns };

  explicit TokensPanel(QWidget* parent = nullptr);

  tokenizer::ClusterParams params() const;
  // Programmatic changes: no paramsEdited / selectionEdited comes back.
  void setParams(const tokenizer::ClusterParams& p);
  void setOpacity(float opacity);
  void setOutline(bool outline);
  void setPixelEdges(bool on);
  void setResult(const TokenizePtr& result);
  void setSelection(const QSet<int>& tokens);
  QSet<int> selection() const;

  QTableWidget* table() const { return table_; }
  QSpinBox* capBox() const { return cap_; }
  QSpinBox* islandsBox() const { return islands_; }
  QSpinBox* smallRegionsBox() const { return smallRegions_; }
  QSpinBox* edgePassesBox() const { return edgePasses_; }
  QSlider* opacitySlider() const { return opacity_; }
  QCheckBox* outlineBox() const { return outline_; }
  QCheckBox* pixelEdgesBox() const { return pixelEdges_; }
  QString summary() const;  // the line above the table: token count, grid, time, reconstruction

 Q_SIGNALS:
  void paramsEdited(const setok::tokenizer::ClusterParams& params);
  void opacityChanged(float opacity);
  void outlineChanged(bool outline);
  void pixelEdgesChanged(bool on);
  void selectionEdited(const QSet<int>& tokens);
  void compareRequested();

 private:
  // The constructor's steps, in order: the panel's groups top to bottom.
  void addClusterGroup(QVBoxLayout* layout);
  void addCleanupGroup(QVBoxLayout* layout);
  void connectParamEdits();
  void addOverlayGroup(QVBoxLayout* layout);
  void addTokenTable(QVBoxLayout* layout);
  void emitParams();
  QSpinBox* cap_ = nullptr;
  QSpinBox* knn_ = nullptr;
  QDoubleSpinBox* beta_ = nullptr;
  QDoubleSpinBox* bandwidth_ = nullptr;
  QComboBox* mode_ = nullptr;
  QSpinBox* islands_ = nullptr;       // ClusterParams::split_islands
  QSpinBox* smallRegions_ = nullptr;  // ClusterParams::min_region_patches
  QSpinBox* edgePasses_ = nullptr;    // ClusterParams::edge_passes
  QSlider* opacity_ = nullptr;
  QCheckBox* outline_ = nullptr;
  QCheckBox* pixelEdges_ = nullptr;
  QLabel* summary_ = nullptr;
  QTableWidget* table_ = nullptr;
  bool quiet_ = false;  // set while the panel changes itself
  tokenizer::ClusterParams
      base_;  // the settings the panel has no control for (stop fraction, position weight) come from here
};

}  // namespace setok::ui
