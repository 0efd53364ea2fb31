#include "ui/edit_panel.h"

#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>

#include "core/runtime/error.h"
#include "ui/image_canvas.h"
#include "ui/qimage_convert.h"

namespace setok::ui {
namespace {

QPushButton* button(const QString& text, const QString& name, const QString& tip) {
  auto* b = new QPushButton(text);
  b->setObjectName(name);
  b->setToolTip(tip);
  return b;
}

}  // namespace

EditPanel::EditPanel(ImageCanvas* canvas, QWidget* parent) : QWidget(parent), canvas_(canvas) {
  setObjectName("EditPanel");
  auto* box = new QGroupBox(tr("Edit with an instruction"));
  instruction_ = new QLineEdit;
  instruction_->setObjectName("editInstruction");
  instruction_->setPlaceholderText(tr("Make the red circle blue."));
  selectionOnly_ = new QCheckBox(tr("Only the selection"));
  selectionOnly_->setObjectName("editSelectionOnly");
  selectionOnly_->setToolTip(
      tr("Only the tokens under the Segment tool's current mask (or the selected tokens) "
         "may change; every other token is copied as it is"));
  seed_ = new QSpinBox;
  seed_->setRange(0, 1 << 30);
  cfg_ = new QDoubleSpinBox;
  cfg_->setRange(1.0, 20.0);
  cfg_->setSingleStep(0.5);
  cfg_->setValue(3.0);
  cfg_->setToolTip(tr("Classifier-free guidance: how strongly each new token follows the instruction (1: none)"));
  steps_ = new QSpinBox;
  steps_->setRange(0, 1000);
  steps_->setSpecialValueText(tr("model's"));
  steps_->setToolTip(tr("Diffusion steps per new token"));
  auto* settings = new QFormLayout;
  settings->addRow(tr("Seed"), seed_);
  settings->addRow(tr("Guidance"), cfg_);
  settings->addRow(tr("Steps"), steps_);
  preview_ = button(tr("Preview"), "editPreview", tr("Make the edit (the image stays as it is until Accept)"));
  cancel_ = button(tr("Cancel"), "editCancel", tr("Stop the edit or drawing in progress"));
  accept_ = button(tr("Accept"), "editAccept", tr("Make the preview the image (Edit ▸ Undo takes it back)"));
  discard_ = button(tr("Discard"), "editDiscard", tr("Drop the preview"));
  save_ = button(tr("Save result…"), "editSave", tr("Write the preview to a PNG"));
  wipe_ = new QSlider(Qt::Horizontal);
  wipe_->setObjectName("editWipe");
  wipe_->setRange(0, 100);
  wipe_->setValue(100);
  wipe_->setToolTip(tr("Before ◀ ▶ after: the preview is shown left of the line, the image right of it"));
  progress_ = new QProgressBar;
  progress_->setRange(0, 100);
  progress_->setTextVisible(false);
  progress_->setMaximumHeight(6);
  auto* run = new QHBoxLayout;
  run->addWidget(preview_);
  run->addWidget(cancel_);
  auto* decide = new QHBoxLayout;
  decide->addWidget(accept_);
  decide->addWidget(discard_);
  decide->addWidget(save_);
  auto* wipeRow = new QHBoxLayout;
  wipeRow->addWidget(new QLabel(tr("Before")));
  wipeRow->addWidget(wipe_, 1);
  wipeRow->addWidget(new QLabel(tr("After")));
  auto* v = new QVBoxLayout(box);
  v->addWidget(instruction_);
  v->addWidget(selectionOnly_);
  v->addLayout(settings);
  v->addLayout(run);
  v->addWidget(progress_);
  v->addLayout(wipeRow);
  v->addLayout(decide);
  auto* drawBox = new QGroupBox(tr("Draw from a prompt"));
  prompt_ = new QLineEdit;
  prompt_->setObjectName("drawPrompt");
  prompt_->setPlaceholderText(tr("a red circle in the top left, on a grey background"));
  draw_ = button(tr("Draw"), "drawButton",
                 tr("SeTokim writes a new picture (seed, guidance and steps above); it opens as the image"));
  auto* d = new QHBoxLayout(drawBox);
  d->addWidget(prompt_, 1);
  d->addWidget(draw_);
  status_ = new QLabel;
  status_->setObjectName("editStatus");
  status_->setWordWrap(true);
  auto* outer = new QVBoxLayout(this);
  outer->setContentsMargins(0, 0, 0, 0);
  outer->addWidget(box);
  outer->addWidget(drawBox);
  outer->addWidget(status_);
  outer->addStretch(1);
  connect(instruction_, &QLineEdit::returnPressed, this, &EditPanel::preview);
  connect(preview_, &QPushButton::clicked, this, &EditPanel::preview);
  connect(cancel_, &QPushButton::clicked, this, &EditPanel::cancel);
  connect(accept_, &QPushButton::clicked, this, &EditPanel::accept);
  connect(discard_, &QPushButton::clicked, this, &EditPanel::discard);
  connect(save_, &QPushButton::clicked, this, &EditPanel::saveResultWithDialog);
  connect(prompt_, &QLineEdit::returnPressed, this, &EditPanel::draw);
  connect(draw_, &QPushButton::clicked, this, &EditPanel::draw);
  connect(wipe_, &QSlider::valueChanged, this, &EditPanel::setWipe);
  updateButtons();
}

void EditPanel::setBridge(EngineBridge* bridge) {
  bridge_ = bridge;
  connect(bridge_, &EngineBridge::edited, this, &EditPanel::onEdited);
  connect(bridge_, &EngineBridge::progress, this, [this](quint64 id, float f) {
    if (id == pending_) progress_->setValue(static_cast<int>(f * 100));
  });
}

void EditPanel::setImage(const io::Image& image) {
  if (pending_ && bridge_) bridge_->cancel(pending_);
  pending_ = 0;
  before_ = image;
  after_ = {};
  setStatus({}, false);
  updateButtons();
}

void EditPanel::setSelectionSource(std::function<std::vector<std::uint8_t>()> source) {
  selection_ = std::move(source);
}

engine::EditRequest EditPanel::request() const {
  engine::EditRequest r;
  r.seed = static_cast<std::uint64_t>(seed_->value());
  r.cfg = cfg_->value();
  r.steps = steps_->value();
  return r;
}

void EditPanel::submit(engine::EditRequest r, const QString& what) {
  if (!bridge_) return setStatus(tr("No engine"), true);
  if (pending_) bridge_->cancel(pending_);
  progress_->setValue(0);
  pending_ = bridge_->edit(std::move(r));
  setStatus(what, false);
  updateButtons();
}

void EditPanel::preview() {
  const QString text = instruction_->text().trimmed();
  if (before_.empty()) return setStatus(tr("Open an image first"), true);
  if (text.isEmpty()) return setStatus(tr("Type an instruction first"), true);
  engine::EditRequest r = request();
  r.image = before_;
  r.instruction = text.toStdString();
  if (selectionOnly_->isChecked()) {
    r.region = selection_ ? selection_() : std::vector<std::uint8_t>{};
    if (r.region.empty()) return setStatus(tr("Nothing is selected: draw a mask or select tokens first"), true);
  }
  pendingDraw_ = false;
  submit(std::move(r), tr("Editing…"));
}

void EditPanel::draw() {
  const QString text = prompt_->text().trimmed();
  if (text.isEmpty()) return setStatus(tr("Type a prompt first"), true);
  engine::EditRequest r = request();
  r.prompt = text.toStdString();
  pendingDraw_ = true;
  pendingPrompt_ = text;
  submit(std::move(r), tr("Drawing…"));
}

void EditPanel::cancel() {
  if (!pending_ || !bridge_) return;
  bridge_->cancel(pending_);
}

void EditPanel::onEdited(const EditPtr& r) {
  if (!r || r->id != pending_) return;  // superseded by a newer request, or another panel's
  pending_ = 0;
  last_ = r;
  progress_->setValue(r->ok() ? 100 : 0);
  if (r->status == engine::Status::kCancelled) setStatus(tr("Cancelled"), false);
  else if (!r->ok()) setStatus(QString::fromStdString(r->error), true);
  else if (pendingDraw_) {
    drawn_ = r->picture;
    Q_EMIT drawn(r->picture, pendingPrompt_);  // the window opens it (and resets this panel)
    setStatus(tr("Drew %1 tokens in %2 ms").arg(r->written).arg(r->ms, 0, 'f', 0), false);
  } else {
    after_ = r->picture;
    setStatus(tr("Kept %1 tokens, changed %2, removed %3, added %4 (%5 ms)")
                  .arg(r->kept.size())
                  .arg(r->changed.size())
                  .arg(r->removed.size())
                  .arg(r->added)
                  .arg(r->ms, 0, 'f', 0),
              false);
    showWipe();
  }
  updateButtons();
  Q_EMIT finished();
}

void EditPanel::setWipe(int percent) {
  if (wipe_->value() != percent) wipe_->setValue(percent);  // calls back here
  else showWipe();
}

void EditPanel::showWipe() {
  if (after_.empty() || after_.width != before_.width || after_.height != before_.height) return;
  QImage shown = to_qimage(before_);
  const int x = before_.width * wipe_->value() / 100;
  QPainter p(&shown);
  p.drawImage(QRect(0, 0, x, before_.height), to_qimage(after_), QRect(0, 0, x, before_.height));
  p.setPen(QPen(Qt::white, 1));
  if (x > 0 && x < before_.width) p.drawLine(x, 0, x, before_.height - 1);
  p.end();
  canvas_->showPixels(shown);
}

void EditPanel::accept() {
  if (after_.empty()) return;
  const io::Image before = before_, after = after_;
  after_ = {};
  updateButtons();
  Q_EMIT accepted(before, after);  // the window makes it the image (and calls setImage)
}

void EditPanel::discard() {
  if (after_.empty()) return;
  after_ = {};
  canvas_->showPixels(to_qimage(before_));
  setStatus(tr("Discarded"), false);
  updateButtons();
}

bool EditPanel::saveResult(const QString& path, QString* error) {
  try {
    const io::Image& picture = !after_.empty() ? after_ : drawn_;
    if (picture.empty()) throw Error("there is no preview or drawn picture to save");
    io::save_png(path.toStdString(), picture);
    setStatus(tr("Saved %1").arg(path), false);
    return true;
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what());
    setStatus(QString::fromStdString(e.what()), true);
    return false;
  }
}

void EditPanel::saveResultWithDialog() {
  const QString path = QFileDialog::getSaveFileName(this, tr("Save the edited picture"), {}, tr("PNG (*.png)"));
  if (!path.isEmpty()) saveResult(path.endsWith(".png", Qt::CaseInsensitive) ? path : path + ".png");
}

QString EditPanel::statusText() const { return status_->text(); }

void EditPanel::setStatus(const QString& text, bool error) {
  status_->setText(text);
  statusError_ = error;
  status_->setStyleSheet(error ? "color: #e06c6c;" : "");
}

void EditPanel::updateButtons() {
  const bool has = hasPreview();
  cancel_->setEnabled(pending_ != 0);
  accept_->setEnabled(has);
  discard_->setEnabled(has);
  save_->setEnabled(has || !drawn_.empty());
  wipe_->setEnabled(has);
}

}  // namespace setok::ui
