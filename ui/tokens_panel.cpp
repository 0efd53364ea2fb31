#include "ui/tokens_panel.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHeaderView>
#include <QLabel>
#include <QPixmap>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>
#include <QTableWidget>
#include <QVBoxLayout>

namespace setok::ui {
namespace {

QTableWidgetItem* number(double v, int decimals = -1) {
  auto* item = new QTableWidgetItem;
  // DisplayRole holds the number itself, so sorting is numeric.
  item->setData(Qt::DisplayRole, decimals < 0 ? v : QString::number(v, 'f', decimals).toDouble());
  item->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
  return item;
}

}  // namespace

TokensPanel::TokensPanel(QWidget* parent) : QWidget(parent) {
  auto* layout = new QVBoxLayout(this);
  addClusterGroup(layout);
  addCleanupGroup(layout);
  connectParamEdits();
  addOverlayGroup(layout);
  addTokenTable(layout);
}

void TokensPanel::addClusterGroup(QVBoxLayout* layout) {
  auto* cluster = new QGroupBox(tr("Cluster parameters"), this);
  auto* form = new QFormLayout(cluster);
  cap_ = new QSpinBox(cluster);
  cap_->setRange(1, 64);
  cap_->setToolTip(tr("Most tokens per image, the final scope included"));
  knn_ = new QSpinBox(cluster);
  knn_->setRange(1, 64);
  knn_->setToolTip(tr("K of the local density (Eq. 1)"));
  beta_ = new QDoubleSpinBox(cluster);
  beta_->setRange(0.0, 10.0);
  beta_->setSingleStep(0.1);
  beta_->setToolTip(tr("Seed-score penalty (Algorithm 1, line 4)"));
  bandwidth_ = new QDoubleSpinBox(cluster);
  bandwidth_->setRange(0.0, 10.0);
  bandwidth_->setDecimals(3);
  bandwidth_->setSingleStep(0.01);
  bandwidth_->setSpecialValueText(tr("auto"));
  bandwidth_->setToolTip(tr("Kernel bandwidth σ; auto is 1/(cap·ln 2)"));
  mode_ = new QComboBox(cluster);
  mode_->addItem(tr("hard"), "hard");
  mode_->addItem(tr("soft"), "soft");
  form->addRow(tr("&Cap"), cap_);
  form->addRow(tr("&β"), beta_);
  form->addRow(tr("&Bandwidth"), bandwidth_);
  form->addRow(tr("&Mode"), mode_);
  form->addRow(tr("&KNN"), knn_);
  layout->addWidget(cluster);
}

void TokensPanel::addCleanupGroup(QVBoxLayout* layout) {
  // What follows the clustering (hard masks, docs/design/tokenizer.md); 0 turns a step off.
  auto* tidy = new QGroupBox(tr("Clean-up after clustering"), this);
  auto* tform = new QFormLayout(tidy);
  islands_ = new QSpinBox(tidy);
  islands_->setRange(0, 4096);
  islands_->setSpecialValueText(tr("off"));
  islands_->setSuffix(tr(" patches"));
  islands_->setToolTip(tr("A token's separate regions of at least this many patches become tokens of their own"));
  smallRegions_ = new QSpinBox(tidy);
  smallRegions_->setRange(0, 4096);
  smallRegions_->setSpecialValueText(tr("off"));
  smallRegions_->setSuffix(tr(" patches"));
  smallRegions_->setToolTip(tr("Regions of a token with fewer patches join their most alike neighbouring token"));
  edgePasses_ = new QSpinBox(tidy);
  edgePasses_->setRange(0, 64);
  edgePasses_->setSpecialValueText(tr("off"));
  edgePasses_->setToolTip(
      tr("Passes moving each patch on a token's edge to the neighbouring token whose mean feature it resembles most"));
  tform->addRow(tr("Split &islands ≥"), islands_);
  tform->addRow(tr("&Join regions <"), smallRegions_);
  tform->addRow(tr("&Edge passes"), edgePasses_);
  layout->addWidget(tidy);
}

// Every cluster and clean-up setting edited sends the whole set.
void TokensPanel::connectParamEdits() {
  for (auto* s : {cap_, knn_, islands_, smallRegions_, edgePasses_})
    connect(s, &QSpinBox::valueChanged, this, &TokensPanel::emitParams);
  for (auto* s : {beta_, bandwidth_}) connect(s, &QDoubleSpinBox::valueChanged, this, &TokensPanel::emitParams);
  connect(mode_, &QComboBox::currentIndexChanged, this, &TokensPanel::emitParams);
}

void TokensPanel::addOverlayGroup(QVBoxLayout* layout) {
  auto* overlay = new QGroupBox(tr("Overlay"), this);
  auto* oform = new QFormLayout(overlay);
  opacity_ = new QSlider(Qt::Horizontal, overlay);
  opacity_->setRange(0, 100);
  outline_ = new QCheckBox(tr("Token &outlines"), overlay);
  oform->addRow(tr("O&pacity"), opacity_);
  oform->addRow(outline_);
  pixelEdges_ = new QCheckBox(tr("Pi&xel edges"), overlay);
  pixelEdges_->setToolTip(
      tr("Masks at pixel resolution: pixels near a token boundary go to the neighbouring token of the nearest "
         "mean colour. Off: whole patches, as the model groups them. Sharp on flat-coloured objects, "
         "speckled on textured photos."));
  oform->addRow(pixelEdges_);
  connect(pixelEdges_, &QCheckBox::toggled, this, [this](bool on) {
    if (!quiet_) Q_EMIT pixelEdgesChanged(on);
  });
  auto* compare = new QPushButton(tr("Compare with patch grid and fixed K"), overlay);
  oform->addRow(compare);
  layout->addWidget(overlay);
  connect(opacity_, &QSlider::valueChanged, this, [this](int v) {
    if (!quiet_) Q_EMIT opacityChanged(v / 100.0f);
  });
  connect(outline_, &QCheckBox::toggled, this, [this](bool on) {
    if (!quiet_) Q_EMIT outlineChanged(on);
  });
  connect(compare, &QPushButton::clicked, this, &TokensPanel::compareRequested);
}

// The summary line, then the token list.
void TokensPanel::addTokenTable(QVBoxLayout* layout) {
  summary_ = new QLabel(tr("Open an image to see its tokens."), this);
  summary_->setWordWrap(true);
  layout->addWidget(summary_);

  table_ = new QTableWidget(0, kColumns, this);
  table_->setHorizontalHeaderLabels(
      {tr("Token"), tr("Area %"), tr("Area px"), tr("Seed score"), tr("Density"), tr("Box")});
  table_->setSelectionBehavior(QAbstractItemView::SelectRows);
  table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
  table_->verticalHeader()->hide();
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
  table_->setSortingEnabled(true);
  table_->sortByColumn(kArea, Qt::DescendingOrder);
  layout->addWidget(table_, 1);
  connect(table_, &QTableWidget::itemSelectionChanged, this, [this] {
    if (!quiet_) Q_EMIT selectionEdited(selection());
  });
}

tokenizer::ClusterParams TokensPanel::params() const {
  tokenizer::ClusterParams p = base_;
  p.max_tokens = cap_->value();
  p.knn = knn_->value();
  p.beta = static_cast<float>(beta_->value());
  p.bandwidth = static_cast<float>(bandwidth_->value());
  p.mode = tokenizer::parse_cluster_mode(mode_->currentData().toString().toStdString());
  p.split_islands = islands_->value();
  p.min_region_patches = smallRegions_->value();
  p.edge_passes = edgePasses_->value();
  return p;
}

void TokensPanel::emitParams() {
  if (!quiet_) Q_EMIT paramsEdited(params());
}

void TokensPanel::setParams(const tokenizer::ClusterParams& p) {
  quiet_ = true;
  base_ = p;
  cap_->setValue(p.max_tokens);
  knn_->setValue(p.knn);
  beta_->setValue(p.beta);
  bandwidth_->setValue(p.bandwidth);
  mode_->setCurrentIndex(p.mode == tokenizer::ClusterMode::kSoft ? 1 : 0);
  islands_->setValue(p.split_islands);
  smallRegions_->setValue(p.min_region_patches);
  edgePasses_->setValue(p.edge_passes);
  quiet_ = false;
}

void TokensPanel::setOpacity(float opacity) {
  quiet_ = true;
  opacity_->setValue(qRound(opacity * 100));
  quiet_ = false;
}

void TokensPanel::setOutline(bool outline) {
  quiet_ = true;
  outline_->setChecked(outline);
  quiet_ = false;
}

void TokensPanel::setPixelEdges(bool on) {
  quiet_ = true;
  pixelEdges_->setChecked(on);
  quiet_ = false;
}

QString TokensPanel::summary() const { return summary_->text(); }

void TokensPanel::setResult(const TokenizePtr& r) {
  const QSet<int> keep = selection();
  quiet_ = true;
  table_->setSortingEnabled(false);  // filling a sorted table reorders rows under our feet
  table_->clearContents();
  table_->setRowCount(0);
  if (r && r->ok()) {
    summary_->setText(tr("%1 tokens, %2×%3 patch grid, %4 ms.%5%6")
                          .arg(r->tokens.size())
                          .arg(r->grid_w)
                          .arg(r->grid_h)
                          .arg(r->ms.total_ms, 0, 'f', 0)
                          .arg(r->reconstruction.empty() ? QString()
                                                         : tr("\nReconstruction: %1 dB PSNR at %2×%3 (%4 ms).")
                                                               .arg(r->reconstruction_psnr_db, 0, 'f', 1)
                                                               .arg(r->reconstruction.width)
                                                               .arg(r->reconstruction.height)
                                                               .arg(r->ms.reconstruct_ms, 0, 'f', 0))
                          .arg(r->trained ? QString()
                                          : tr("\nModel: %1 — its tokens only show the pipeline at work.")
                                                .arg(QString::fromStdString(r->model_name))));
    const double total = double(r->width) * r->height;
    table_->setRowCount(static_cast<int>(r->tokens.size()));
    for (int i = 0; i < static_cast<int>(r->tokens.size()); ++i) {
      const auto& t = r->tokens[i];
      QPixmap swatch(12, 12);
      swatch.fill(QColor(t.stat.colour.r, t.stat.colour.g, t.stat.colour.b));
      auto* id = new QTableWidgetItem(QIcon(swatch), QString());
      id->setData(Qt::DisplayRole, i);
      table_->setItem(i, kToken, id);
      table_->setItem(i, kAreaPercent, number(100.0 * t.stat.area / total, 1));
      table_->setItem(i, kArea, number(static_cast<double>(t.stat.area)));
      table_->setItem(i, kScore, number(t.seed_score, 4));
      table_->setItem(i, kDensity, number(t.density, 4));
      table_->setItem(
          i, kBox,
          new QTableWidgetItem(QString("%1,%2 %3×%4").arg(t.stat.x).arg(t.stat.y).arg(t.stat.w).arg(t.stat.h)));
    }
  } else {
    summary_->setText(tr("No tokens."));
  }
  table_->setSortingEnabled(true);
  quiet_ = false;
  setSelection(keep);
}

QSet<int> TokensPanel::selection() const {
  QSet<int> s;
  for (const QModelIndex& i : table_->selectionModel()->selectedRows(kToken)) s.insert(i.data(Qt::DisplayRole).toInt());
  return s;
}

void TokensPanel::setSelection(const QSet<int>& tokens) {
  quiet_ = true;
  table_->clearSelection();
  QItemSelection sel;
  for (int row = 0; row < table_->rowCount(); ++row)
    if (QTableWidgetItem* it = table_->item(row, kToken); it && tokens.contains(it->data(Qt::DisplayRole).toInt()))
      sel.select(table_->model()->index(row, 0), table_->model()->index(row, kColumns - 1));
  table_->selectionModel()->select(sel, QItemSelectionModel::Select);
  quiet_ = false;
}

}  // namespace setok::ui
