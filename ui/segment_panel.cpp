#include "ui/segment_panel.h"

#include <QButtonGroup>
#include <QFileDialog>
#include <QFileInfo>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QPainter>
#include <QPixmap>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSlider>
#include <QToolButton>
#include <QVBoxLayout>
#include <algorithm>
#include <exception>

#include "core/edit/mask_export.h"
#include "ui/image_canvas.h"
#include "ui/segment_session.h"

namespace setok::ui {

namespace {

constexpr int kDefaultBrush = 12;  // image pixels
constexpr int kMaxBrush = 200;

QString candidates_help() {
  return QObject::tr(
      "One click can mean a part, the whole object or a group of objects. A lone click starts from the "
      "SeTok token under it (the region the tokenizer grouped there), and the decoder answers with one "
      "mask (the first row, used) and three other readings, each with its own estimate of how well it "
      "matches what you meant: the predicted IoU (1 = exactly).\n"
      "Pick another row to use it instead (one undo step). Another click refines whichever you picked.");
}

// Compact buttons: the panel shares the dock's width with the Tokens panel and must not widen it.
QAbstractButton* tool_button(const QString& text, QWidget* parent) {
  auto* b = new QToolButton(parent);
  b->setText(text);
  return b;
}

QIcon swatch(std::uint32_t id) {
  QPixmap pm(12, 12);
  pm.fill(SegmentTool::maskColour(id));
  return QIcon(pm);
}

// One row of the candidate list: its name and predicted IoU as text, and the IoU as a bar.
QWidget* candidate_row(const QString& text, float iou, bool used) {
  auto* w = new QWidget;
  auto* h = new QHBoxLayout(w);
  h->setContentsMargins(4, 1, 4, 1);
  auto* label = new QLabel(text, w);
  label->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);  // the bar keeps its room
  if (used) label->setStyleSheet("font-weight: bold");
  auto* bar = new QProgressBar(w);
  bar->setRange(0, 100);
  bar->setValue(qRound(std::clamp(iou, 0.0f, 1.0f) * 100));
  bar->setTextVisible(false);
  bar->setMaximumHeight(10);
  bar->setMaximumWidth(60);  // the label's "single mask · IoU 0.71 · 6.8%" fits a narrow dock
  h->addWidget(label, 1);
  h->addWidget(bar);
  return w;
}

}  // namespace

SegmentPanel::SegmentPanel(ImageCanvas* canvas, QWidget* parent) : QWidget(parent), canvas_(canvas) {
  setObjectName("segmentPanel");
  session_ = new SegmentSession(&doc_, this);
  tool_ = new SegmentTool(canvas_, &doc_, this);
  auto* v = new QVBoxLayout(this);
  addExpressionRow(v);
  addToolRows(v);
  addCandidateList(v);
  addMaskList(v);
  addExportRow(v);
  status_ = new QLabel(this);
  status_->setObjectName("segmentStatus");
  status_->setWordWrap(true);
  status_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  v->addWidget(status_);
  v->addStretch(1);
  connectTool();
  connectSession();
  setBrushRadius(QSettings().value("segment/brush", kDefaultBrush).toInt());
  refresh();
  showStatus(tr("Open an image, then describe what to segment or click on it."), false);
}

SegmentPanel::~SegmentPanel() { tool_->setActive(false); }

void SegmentPanel::addExpressionRow(QVBoxLayout* v) {
  auto* row = new QHBoxLayout;
  expression_ = new QLineEdit(this);
  expression_->setPlaceholderText(tr("Describe what to segment, e.g. the small green dress"));
  expression_->setClearButtonEnabled(true);
  segment_ = new QPushButton(tr("Segment"), this);
  segment_->setToolTip(tr("Segment what the expression describes into a new mask (Enter)"));
  row->addWidget(expression_, 1);
  row->addWidget(segment_);
  v->addLayout(row);
  connect(segment_, &QPushButton::clicked, this, &SegmentPanel::segmentExpression);
  connect(expression_, &QLineEdit::returnPressed, this, &SegmentPanel::segmentExpression);
}

void SegmentPanel::addToolRows(QVBoxLayout* v) {
  struct Spec {
    SegmentTool::Mode mode;
    const char* text;
    const char* tip;
  };
  const Spec specs[] = {
      {SegmentTool::Mode::kClick, "Click",
       "Left click adds, right click removes, a left drag draws a box. Before the first click the mask "
       "under the pointer is previewed."},
      {SegmentTool::Mode::kBrush, "Brush", "Paint onto the current mask (the right button erases)."},
      {SegmentTool::Mode::kEraser, "Eraser", "Erase from the current mask (the right button paints)."},
      {SegmentTool::Mode::kPickToken, "From token",
       "Start from token: the next click takes the SeTok token under the pointer as the current mask, for "
       "the decoder to refine with your clicks."},
  };
  modes_ = new QButtonGroup(this);
  modes_->setExclusive(true);
  auto* row = new QHBoxLayout;
  for (const Spec& s : specs) {
    auto* b = new QToolButton(this);
    b->setText(tr(s.text));
    b->setToolTip(tr(s.tip));
    b->setCheckable(true);
    b->setChecked(s.mode == SegmentTool::Mode::kClick);
    modes_->addButton(b, static_cast<int>(s.mode));
    row->addWidget(b);
  }
  row->addStretch(1);
  v->addLayout(row);
  connect(modes_, &QButtonGroup::idClicked, this, [this](int id) { setMode(static_cast<SegmentTool::Mode>(id)); });

  auto* sizeRow = new QHBoxLayout;
  size_ = new QSlider(Qt::Horizontal, this);
  size_->setRange(1, kMaxBrush);
  size_->setToolTip(tr("Brush and eraser radius, in image pixels"));
  sizeLabel_ = new QLabel(this);
  sizeLabel_->setMinimumWidth(fontMetrics().horizontalAdvance("200 px "));
  undo_ = tool_button(tr("Undo"), this);
  redo_ = tool_button(tr("Redo"), this);
  sizeRow->addWidget(new QLabel(tr("Size"), this));
  sizeRow->addWidget(size_, 1);
  sizeRow->addWidget(sizeLabel_);
  sizeRow->addWidget(undo_);
  sizeRow->addWidget(redo_);
  v->addLayout(sizeRow);
  connect(size_, &QSlider::valueChanged, this, &SegmentPanel::setBrushRadius);
  connect(undo_, &QAbstractButton::clicked, this, &SegmentPanel::undo);
  connect(redo_, &QAbstractButton::clicked, this, &SegmentPanel::redo);
}

void SegmentPanel::addCandidateList(QVBoxLayout* v) {
  auto* box = new QGroupBox(tr("Candidates"), this);
  box->setToolTip(candidates_help());
  auto* l = new QVBoxLayout(box);
  candidates_ = new QListWidget(box);
  candidates_->setObjectName("segmentCandidates");
  candidates_->setToolTip(candidates_help());
  candidates_->setMaximumHeight(110);
  candidates_->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
  l->addWidget(candidates_);
  v->addWidget(box);
  connect(candidates_, &QListWidget::currentRowChanged, this, [this](int row) {
    if (!quiet_ && row >= 0) pickCandidate(row);
  });
}

void SegmentPanel::addMaskList(QVBoxLayout* v) {
  auto* box = new QGroupBox(tr("Masks"), this);
  auto* l = new QVBoxLayout(box);
  masks_ = new QListWidget(box);
  masks_->setObjectName("segmentMasks");
  masks_->setToolTip(
      tr("The image's masks; double-click a name to rename it. Clicks and strokes go to the "
         "selected mask."));
  masks_->setEditTriggers(QAbstractItemView::DoubleClicked | QAbstractItemView::EditKeyPressed);
  auto* row = new QHBoxLayout;
  QAbstractButton* add = tool_button(tr("Add"), box);
  QAbstractButton* rename = tool_button(tr("Rename"), box);
  QAbstractButton* del = tool_button(tr("Delete"), box);
  row->addWidget(add);
  row->addWidget(rename);
  row->addWidget(del);
  row->addStretch(1);
  l->addWidget(masks_);
  l->addLayout(row);
  v->addWidget(box);
  connect(add, &QAbstractButton::clicked, this, &SegmentPanel::addMask);
  connect(rename, &QAbstractButton::clicked, this, [this] {
    if (QListWidgetItem* it = masks_->currentItem()) masks_->editItem(it);
  });
  connect(del, &QAbstractButton::clicked, this, [this] { deleteMask(masks_->currentRow()); });
  connect(masks_, &QListWidget::currentRowChanged, this, [this](int row) {
    if (quiet_ || row < 0 || row >= doc_.count()) return;
    doc_.select(row);
    refresh();
  });
  connect(masks_, &QListWidget::itemChanged, this, [this](QListWidgetItem* it) {
    if (quiet_) return;
    // After the editor has closed: renaming changes the list under it.
    const int row = masks_->row(it);
    const QString name = it->text();
    QMetaObject::invokeMethod(
        this, [this, row, name] { renameMask(row, name); }, Qt::QueuedConnection);
  });
}

void SegmentPanel::addExportRow(QVBoxLayout* v) {
  auto* row = new QHBoxLayout;
  auto* png = new QPushButton(tr("Export PNG…"), this);
  png->setToolTip(tr("All masks as one PNG index map: 0 = none, k = the k-th mask of the list"));
  auto* rle = new QPushButton(tr("Export COCO RLE…"), this);
  rle->setToolTip(
      tr("All masks as COCO annotations with RLE segmentation, area and bbox; the category is "
         "the mask's name"));
  row->addWidget(png);
  row->addWidget(rle);
  row->addStretch(1);
  v->addLayout(row);
  connect(png, &QPushButton::clicked, this, &SegmentPanel::exportPngWithDialog);
  connect(rle, &QPushButton::clicked, this, &SegmentPanel::exportRleWithDialog);
}

void SegmentPanel::connectTool() {
  connect(tool_, &SegmentTool::hovered, session_, &SegmentSession::hover);
  connect(tool_, &SegmentTool::left, session_, &SegmentSession::stopPreview);
  connect(tool_, &SegmentTool::clicked, this, [this](const QPointF& p, bool positive) {
    QString error;
    const bool sent = session_->click(p, positive, &error);
    refresh();  // a first click makes a mask
    if (!sent) showStatus(error, true);
  });
  connect(tool_, &SegmentTool::boxDrawn, this, [this](const QRectF& r) {
    QString error;
    const bool sent = session_->box(r, &error);
    refresh();
    if (!sent) showStatus(error, true);
  });
  connect(tool_, &SegmentTool::stroked, this, &SegmentPanel::onStroke);
  connect(tool_, &SegmentTool::tokenPicked, this, &SegmentPanel::startFromToken);
  connect(tool_, &SegmentTool::undoRequested, this, &SegmentPanel::undo);
  connect(tool_, &SegmentTool::redoRequested, this, &SegmentPanel::redo);
}

void SegmentPanel::connectSession() {
  connect(session_, &SegmentSession::previewReady, this, [this](const SegmentPtr& r) {
    tool_->setPreview(r->result.mask().mask, r->result.width, r->result.height);
    Q_EMIT previewShown(r);
  });
  connect(session_, &SegmentSession::previewCleared, tool_, &SegmentTool::clearPreview);
  connect(session_, &SegmentSession::applied, this, [this](const SegmentPtr& r, quint32 maskId) {
    refresh();
    showCandidates(r, maskId);
    showResultStatus(r, maskId);
    Q_EMIT resultShown(r);
  });
  connect(session_, &SegmentSession::failed, this, [this](const QString& m) { showStatus(m, true); });
  connect(session_, &SegmentSession::encoded, this, [this](const SegmentPtr& r) {
    if (r->ok())
      showStatus(tr("Ready: describe what to segment, or click on the image (encoded in %1 ms).")
                     .arg(r->result.ms.encode_ms, 0, 'f', 0),
                 false);
    else if (r->status == engine::Status::kError)
      showStatus(tr("no segmentation model: %1. The brush, eraser and Start from token still work.")
                     .arg(QString::fromStdString(r->error)),
                 true);
    else  // cancelled (Ctrl+.): the first click encodes it
      showStatus(tr("Describe what to segment, or click on the image."), false);
  });
}

void SegmentPanel::setBridge(EngineBridge* bridge) { session_->setBridge(bridge); }

void SegmentPanel::setImage(const io::Image& image, const QString& path) {
  imagePath_ = path;
  shownResult_.reset();
  shownMask_ = 0;
  session_->setImage(image);
  quiet_ = true;
  candidates_->clear();
  quiet_ = false;
  refresh();
  showStatus(tr("Encoding the image for segmentation…"), false);
}

void SegmentPanel::setActive(bool on) {
  tool_->setActive(on);
  if (!on) session_->stopPreview();
}

bool SegmentPanel::isActive() const { return tool_->isActive(); }

void SegmentPanel::setMode(SegmentTool::Mode mode) {
  if (mode == SegmentTool::Mode::kPickToken && tool_->mode() != mode) modeBeforePick_ = tool_->mode();
  tool_->setMode(mode);
  if (mode != SegmentTool::Mode::kClick) session_->stopPreview();
  if (QAbstractButton* b = modeButton(mode)) b->setChecked(true);
  if (mode == SegmentTool::Mode::kPickToken)
    showStatus(tr("Click on a token (they are shown on the image) to start the mask from it."), false);
}

SegmentTool::Mode SegmentPanel::mode() const { return tool_->mode(); }

QAbstractButton* SegmentPanel::modeButton(SegmentTool::Mode mode) const {
  return modes_->button(static_cast<int>(mode));
}

void SegmentPanel::setBrushRadius(int imagePixels) {
  imagePixels = std::clamp(imagePixels, 1, kMaxBrush);
  tool_->setBrushRadius(static_cast<float>(imagePixels));
  sizeLabel_->setText(tr("%1 px").arg(imagePixels));
  if (size_->value() != imagePixels) size_->setValue(imagePixels);  // re-enters once
  QSettings().setValue("segment/brush", imagePixels);
}

void SegmentPanel::segmentExpression() {
  QString error;
  const bool sent = session_->segmentExpression(expression_->text(), &error);
  refresh();
  if (!sent) showStatus(error, true);
  else showStatus(tr("Segmenting \"%1\"…").arg(expression_->text().trimmed()), false);
}

void SegmentPanel::undo() {
  const QString what = QString::fromStdString(doc_.undo_label());
  if (!doc_.undo()) return showStatus(tr("Nothing to undo."), false);
  refresh();
  showStatus(tr("Undid %1.").arg(what), false);
}

void SegmentPanel::redo() {
  const QString what = QString::fromStdString(doc_.redo_label());
  if (!doc_.redo()) return showStatus(tr("Nothing to redo."), false);
  refresh();
  showStatus(tr("Redid %1.").arg(what), false);
}

void SegmentPanel::addMask() {
  if (doc_.width() == 0) return showStatus(tr("open an image first"), true);
  doc_.add();
  refresh();
}

void SegmentPanel::addMaskFrom(const QString& name, const std::vector<std::uint8_t>& mask, int width, int height) {
  if (doc_.width() == 0) return showStatus(tr("open an image first"), true);
  if (width != doc_.width() || height != doc_.height() ||
      mask.size() != static_cast<std::size_t>(width) * static_cast<std::size_t>(height))
    return showStatus(tr("a mask from the chat is not of this image"), true);
  edit::MaskPrompt prompt;
  prompt.expression = name.toStdString();
  const int i = doc_.add(name.toStdString(), mask, prompt, "Chat");
  refresh();
  showStatus(tr("%1: from the chat (%2 px)").arg(QString::fromStdString(doc_.mask(i).name)).arg(doc_.mask(i).area()),
             false);
}

void SegmentPanel::renameMask(int index, const QString& name) {
  if (index < 0 || index >= doc_.count()) return;
  if (name.trimmed().isEmpty()) {
    showStatus(tr("a mask needs a name"), true);
  } else {
    doc_.rename(index, name.trimmed().toStdString());
  }
  refresh();  // an empty name goes back to the old one
}

void SegmentPanel::deleteMask(int index) {
  if (index < 0 || index >= doc_.count()) return showStatus(tr("select a mask to delete"), true);
  const QString name = QString::fromStdString(doc_.mask(index).name);
  if (doc_.mask(index).id == shownMask_) {
    shownResult_.reset();
    quiet_ = true;
    candidates_->clear();
    quiet_ = false;
  }
  doc_.remove(index);
  refresh();
  showStatus(tr("Deleted %1 (Ctrl+Z brings it back).").arg(name), false);
}

void SegmentPanel::pickCandidate(int candidate) {
  if (!shownResult_) return;
  const heads::SegmentResult& res = shownResult_->result;
  const int i = doc_.index_of(shownMask_);
  if (i < 0 || candidate < 0 || candidate >= static_cast<int>(res.candidates.size())) return;
  edit::MaskPrompt prompt = doc_.mask(i).prompt;
  // The logits the decoder returned are the best candidate's: another one refines from its pixels.
  if (candidate == res.best) {
    prompt.low_res = res.low_res;
    prompt.low_res_side = res.low_res_side;
  } else {
    prompt.low_res.clear();
    prompt.low_res_side = 0;
  }
  const auto& c = res.candidates[candidate];
  if (c.mask == doc_.mask(i).bits && prompt.low_res == doc_.mask(i).prompt.low_res) return;
  try {
    doc_.set_mask(i, c.mask, std::move(prompt), "Pick alternative");
  } catch (const std::exception& e) {
    return showStatus(QString::fromStdString(e.what()), true);
  }
  refresh();
  showStatus(tr("Using candidate %1 (predicted IoU %2).").arg(candidate).arg(c.predicted_iou, 0, 'f', 2), false);
}

void SegmentPanel::startFromToken(int token) {
  const engine::TokenizeResult* t = canvas_->tokens();
  if (!t) return showStatus(tr("the image's tokens are not ready yet"), true);
  if (token < 0) return showStatus(tr("click on a token to start from it"), true);
  if (t->width != doc_.width() || t->height != doc_.height() ||
      t->map.size() != static_cast<std::size_t>(t->width) * t->height)
    return showStatus(tr("the tokens on screen are not of this image"), true);
  std::vector<std::uint8_t> bits(t->map.size());
  for (std::size_t p = 0; p < bits.size(); ++p) bits[p] = t->map[p] == token;
  const int i = doc_.current() >= 0 ? doc_.current() : doc_.add();
  doc_.set_mask(i, std::move(bits), edit::MaskPrompt{}, "Start from token");
  setMode(modeBeforePick_ == SegmentTool::Mode::kPickToken ? SegmentTool::Mode::kClick : modeBeforePick_);
  refresh();
  showStatus(tr("%1 starts from token %2 (%3 px): click to refine it, or brush it.")
                 .arg(QString::fromStdString(doc_.mask(i).name))
                 .arg(token)
                 .arg(doc_.mask(i).area()),
             false);
}

void SegmentPanel::onStroke(const QPolygonF& path, float radius, bool erase) {
  if (doc_.width() == 0) return showStatus(tr("open an image first"), true);
  if (doc_.current() < 0 && erase) return;  // nothing to erase from
  const int i = doc_.current() >= 0 ? doc_.current() : doc_.add();
  std::vector<edit::Point> points;
  points.reserve(static_cast<std::size_t>(path.size()));
  for (const QPointF& p : path) points.push_back({static_cast<float>(p.x()), static_cast<float>(p.y())});
  doc_.stroke(i, points, radius, erase);
  refresh();
}

void SegmentPanel::refresh() {
  quiet_ = true;
  // Rows are updated in place: this runs from inside the list's own rename signal too.
  while (masks_->count() > doc_.count()) delete masks_->takeItem(masks_->count() - 1);
  while (masks_->count() < doc_.count()) {
    auto* it = new QListWidgetItem(masks_);
    it->setFlags(it->flags() | Qt::ItemIsEditable);
  }
  for (int i = 0; i < doc_.count(); ++i) {
    const edit::NamedMask& m = doc_.mask(i);
    QListWidgetItem* it = masks_->item(i);
    const QString name = QString::fromStdString(m.name);
    if (it->text() != name) it->setText(name);
    if (it->data(Qt::UserRole).toUInt() != m.id) {
      it->setData(Qt::UserRole, m.id);
      it->setIcon(swatch(m.id));
    }
    it->setToolTip(tr("%1 px").arg(m.area()));
  }
  masks_->setCurrentRow(doc_.current());
  quiet_ = false;
  undo_->setEnabled(doc_.can_undo());
  redo_->setEnabled(doc_.can_redo());
  undo_->setToolTip(doc_.can_undo() ? tr("Undo %1 (Ctrl+Z)").arg(QString::fromStdString(doc_.undo_label()))
                                    : tr("Nothing to undo"));
  redo_->setToolTip(doc_.can_redo() ? tr("Redo %1 (Ctrl+Shift+Z)").arg(QString::fromStdString(doc_.redo_label()))
                                    : tr("Nothing to redo"));
  tool_->documentChanged();
  Q_EMIT masksChanged();
}

void SegmentPanel::showCandidates(const SegmentPtr& r, quint32 maskId) {
  shownResult_ = r;
  shownMask_ = maskId;
  const heads::SegmentResult& res = r->result;
  const double pixels = std::max(1.0, double(res.width) * res.height);
  quiet_ = true;
  candidates_->clear();
  for (int k = 0; k < static_cast<int>(res.candidates.size()); ++k) {
    const auto& c = res.candidates[k];
    const QString name = k == 0 ? tr("single mask") : tr("reading %1").arg(k);
    const QString text =
        tr("%1 · IoU %2 · %3%").arg(name).arg(c.predicted_iou, 0, 'f', 2).arg(100.0 * c.area / pixels, 0, 'f', 1);
    auto* it = new QListWidgetItem(candidates_);
    it->setToolTip(tr("%1: predicted IoU %2, %3 px (%4% of the image)\n\n%5")
                       .arg(name)
                       .arg(c.predicted_iou, 0, 'f', 2)
                       .arg(c.area)
                       .arg(100.0 * c.area / pixels, 0, 'f', 1)
                       .arg(candidates_help()));
    it->setData(Qt::AccessibleTextRole, text);
    QWidget* row = candidate_row(text, c.predicted_iou, k == res.best);
    it->setSizeHint(row->sizeHint());
    candidates_->setItemWidget(it, row);
  }
  candidates_->setCurrentRow(res.best);
  quiet_ = false;
}

void SegmentPanel::showResultStatus(const SegmentPtr& r, quint32 maskId) {
  const heads::SegmentResult& res = r->result;
  const int i = doc_.index_of(maskId);
  QString s = tr("%1: IoU %2 · %3 px · decode %4 ms")
                  .arg(i >= 0 ? QString::fromStdString(doc_.mask(i).name) : tr("mask"))
                  .arg(res.mask().predicted_iou, 0, 'f', 2)
                  .arg(res.mask().area)
                  .arg(res.ms.decode_ms, 0, 'f', 0);
  if (res.ms.language_ms > 0) s += tr(" · language %1 ms").arg(res.ms.language_ms, 0, 'f', 0);
  if (res.zoom[2] > 0) s += tr(" · zoomed in on %1 × %1 px").arg(res.zoom[2]);
  if (res.ms.encode_ms > 0) s += tr(" · encode %1 ms").arg(res.ms.encode_ms, 0, 'f', 0);
  s += tr(" · total %1 ms").arg(res.ms.total_ms, 0, 'f', 0);
  if (r->load_model_ms > 0) s += tr(" · model loaded in %1 ms").arg(r->load_model_ms, 0, 'f', 0);
  showStatus(s, false);
}

void SegmentPanel::showStatus(const QString& text, bool error) {
  const QString line = text.section('\n', 0, 0);
  statusError_ = error;
  status_->setText(line);
  status_->setStyleSheet(error ? "color: #d04040" : "");
  Q_EMIT statusChanged(line, error);
}

QString SegmentPanel::statusText() const { return status_->text(); }

bool SegmentPanel::exportWith(const QString& path, QString* error, bool png) {
  try {
    if (png) edit::save_mask_index_png(path.toStdString(), doc_);
    else edit::save_masks_coco_json(path.toStdString(), doc_, QFileInfo(imagePath_).fileName().toStdString());
  } catch (const std::exception& e) {
    const QString reason = QString::fromStdString(e.what()).section('\n', 0, 0);
    if (error) *error = reason;
    showStatus(reason, true);
    return false;
  }
  showStatus(tr("Saved %1 mask(s) to %2.").arg(doc_.count()).arg(QFileInfo(path).fileName()), false);
  return true;
}

bool SegmentPanel::exportPng(const QString& path, QString* error) { return exportWith(path, error, true); }
bool SegmentPanel::exportRle(const QString& path, QString* error) { return exportWith(path, error, false); }

void SegmentPanel::exportPngWithDialog() {
  exportWithDialog(tr("Export Masks as PNG"), tr("PNG index map (*.png)"), "-masks.png", true);
}

void SegmentPanel::exportRleWithDialog() {
  exportWithDialog(tr("Export Masks as COCO RLE"), tr("COCO JSON (*.json)"), "-masks.json", false);
}

// As the window's token exports: the last export folder, else the image's own.
void SegmentPanel::exportWithDialog(const QString& title, const QString& filter, const QString& suffix, bool png) {
  QSettings s;
  const QFileInfo image(imagePath_);
  const QString dir = s.value("files/exportDir", image.absolutePath()).toString();
  const QString path = QFileDialog::getSaveFileName(this, title, dir + "/" + image.completeBaseName() + suffix, filter);
  if (path.isEmpty()) return;
  s.setValue("files/exportDir", QFileInfo(path).absolutePath());
  exportWith(path, nullptr, png);
}

bool SegmentPanel::event(QEvent* e) {
  if (e->type() == QEvent::ShortcutOverride && SegmentTool::historyKey(static_cast<QKeyEvent*>(e)) != 0) {
    e->accept();
    return true;
  }
  return QWidget::event(e);
}

void SegmentPanel::keyPressEvent(QKeyEvent* e) {
  const int k = SegmentTool::historyKey(e);
  if (k < 0) undo();
  else if (k > 0) redo();
  else QWidget::keyPressEvent(e);
}

}  // namespace setok::ui
