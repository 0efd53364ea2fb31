#include "ui/chat_panel.h"

#include <QApplication>
#include <QClipboard>
#include <QColor>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QEvent>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QMenu>
#include <QMimeData>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QVBoxLayout>
#include <algorithm>

#include "core/io/atomic_file.h"
#include "core/tokenizer/setok_model.h"

namespace setok::ui {
namespace {
constexpr int kTurnRole = Qt::UserRole + 1;  // the turn index of a row; -1: the answer streaming in

// What became of a [SEG] answer's mask, after the answer's text.
QString maskNote(const mllm::ChatMask& m) {
  if (!m.error.empty()) return QObject::tr("  (no mask: %1)").arg(QString::fromStdString(m.error));
  std::int64_t area = 0;
  for (auto v : m.mask) area += v;
  return QObject::tr("  (mask: %1 px, predicted IoU %2; in the Segment tool's masks)")
      .arg(area)
      .arg(m.predicted_iou, 0, 'f', 2);
}
}  // namespace

QString ChatPanel::defaultModel() { return QString::fromStdString(tokenizer::default_setokim_model()); }

ChatPanel::ChatPanel(EngineBridge* bridge, QWidget* parent) : QWidget(parent), bridge_(bridge) {
  if (bridge_) {
    conversation_ = bridge_->newConversation();
    connect(bridge_, &EngineBridge::chatted, this, &ChatPanel::onChatted);
    connect(bridge_, &EngineBridge::chatPiece, this, &ChatPanel::onPiece);
  }
  setAcceptDrops(true);
  auto* v = new QVBoxLayout(this);
  addModelRow(v);
  addTranscript(v);
  addAttachRow(v);
  addInputAndButtons(v);
  setBusy(false);
  rebuild();
}

// The loaded model's name and the button that loads another.
void ChatPanel::addModelRow(QVBoxLayout* v) {
  auto* top = new QHBoxLayout;
  modelLabel_ = new QLabel(tr("No SeTokim model loaded"), this);
  modelLabel_->setWordWrap(true);
  auto* load = new QPushButton(tr("Model…"), this);
  load->setToolTip(tr("Load a SeTokim folder (setok train mllm writes one)"));
  connect(load, &QPushButton::clicked, this, [this] {
    const QString d = QFileDialog::getExistingDirectory(this, tr("SeTokim model folder"));
    if (!d.isEmpty()) loadModel(d);
  });
  top->addWidget(modelLabel_, 1);
  top->addWidget(load);
  v->addLayout(top);
}

void ChatPanel::addTranscript(QVBoxLayout* v) {
  list_ = new QListWidget(this);
  list_->setObjectName("chat.transcript");
  list_->setWordWrap(true);
  list_->setMouseTracking(true);
  list_->setSelectionMode(QAbstractItemView::SingleSelection);
  list_->setContextMenuPolicy(Qt::CustomContextMenu);
  connect(list_, &QListWidget::itemEntered, this, [this](QListWidgetItem* it) { hoverRow(list_->row(it)); });
  connect(list_, &QListWidget::customContextMenuRequested, this, &ChatPanel::showContextMenu);
  v->addWidget(list_, 1);
  list_->viewport()->installEventFilter(this);
}

// What the next question is about, and the buttons that attach an image to it.
void ChatPanel::addAttachRow(QVBoxLayout* v) {
  auto* attach = new QHBoxLayout;
  attachLabel_ = new QLabel(this);
  attachLabel_->setWordWrap(true);
  canvasBtn_ = new QPushButton(tr("Use canvas image"), this);
  canvasBtn_->setEnabled(false);
  auto* file = new QPushButton(tr("Add image…"), this);
  connect(canvasBtn_, &QPushButton::clicked, this, &ChatPanel::attachCanvasImage);
  connect(file, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Image"), {},
                                                   tr("Images (*.png *.jpg *.jpeg *.bmp *.webp *.tif *.tiff)"));
    if (!f.isEmpty()) attachImageFile(f);
  });
  // The line about the next question gets the panel's whole width; the buttons sit under it.
  attachLabel_->setObjectName("chat.next");
  v->addWidget(attachLabel_);
  attach->addStretch(1);
  attach->addWidget(canvasBtn_);
  attach->addWidget(file);
  v->addLayout(attach);
}

void ChatPanel::addInputAndButtons(QVBoxLayout* v) {
  input_ = new QPlainTextEdit(this);
  input_->setObjectName("chat.input");
  input_->setPlaceholderText(tr("Ask about the image… (Ctrl+Enter sends)"));
  input_->setMaximumHeight(70);
  v->addWidget(input_);
  // Two rows: the answer's controls, then the conversation's, so the panel stays narrow.
  auto* buttons = new QHBoxLayout;
  auto* files = new QHBoxLayout;
  send_ = new QPushButton(tr("Send"), this);
  send_->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_Return));
  stop_ = new QPushButton(tr("Stop"), this);
  regen_ = new QPushButton(tr("Regenerate"), this);
  auto* save = new QPushButton(tr("Save…"), this);
  auto* open = new QPushButton(tr("Open…"), this);
  auto* clear = new QPushButton(tr("Clear"), this);
  for (QPushButton* b : {send_, stop_, regen_}) buttons->addWidget(b);
  for (QPushButton* b : {save, open, clear}) files->addWidget(b);
  v->addLayout(buttons);
  v->addLayout(files);
  connect(send_, &QPushButton::clicked, this, [this] {
    const QString q = input_->toPlainText().trimmed();
    if (editTurn_ >= 0) {
      editAndRerun(editTurn_, q);
    } else {
      ask(q);
    }
  });
  connect(stop_, &QPushButton::clicked, this, &ChatPanel::stop);
  connect(regen_, &QPushButton::clicked, this, &ChatPanel::regenerate);
  connect(clear, &QPushButton::clicked, this, &ChatPanel::clear);
  connect(save, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getSaveFileName(this, tr("Save conversation"), "chat.json", tr("JSON (*.json)"));
    QString error;
    if (!f.isEmpty() && !this->save(f, &error)) Q_EMIT errorOccurred(error);
  });
  connect(open, &QPushButton::clicked, this, [this] {
    const QString f = QFileDialog::getOpenFileName(this, tr("Open conversation"), {}, tr("JSON (*.json)"));
    if (!f.isEmpty()) this->open(f);
  });
}

ChatPanel::~ChatPanel() {
  if (!bridge_) return;  // the engine went first (the studio closing): the conversation went with it
  if (request_) bridge_->cancel(request_);
  bridge_->closeConversation(conversation_);
}

bool ChatPanel::run(engine::ChatRequest request, Then done) {
  if (busy_) {
    Q_EMIT errorOccurred(tr("The model is busy; wait for the answer or press Stop"));
    return false;
  }
  if (!bridge_) {
    Q_EMIT errorOccurred(tr("The engine has stopped"));
    return false;
  }
  request.conversation = conversation_;
  setBusy(true);
  then_ = std::move(done);
  request_ = bridge_->chat(std::move(request));
  return true;
}

void ChatPanel::onChatted(const ChatPtr& r) {
  if (!r || r->id != request_) return;  // another panel's, or a request this panel no longer waits for
  request_ = 0;
  turns_ = r->turns;
  images_ = r->images;
  pending_ = r->pending;
  live_.clear();
  setBusy(false);
  rebuild();
  const Then then = std::move(then_);
  then_ = {};
  if (then) then(*r);
  if (r->status == engine::Status::kError) Q_EMIT errorOccurred(QString::fromStdString(r->error));
}

void ChatPanel::onPiece(quint64 id, const QString& piece) {
  if (id != request_) return;
  live_ += piece;
  if (list_->count() > 0 && list_->item(list_->count() - 1)->data(kTurnRole).toInt() == -1)
    list_->item(list_->count() - 1)->setText(tr("SeTokim: %1").arg(live_));
}

void ChatPanel::loadModel(const QString& dir) {
  engine::ChatRequest r;
  r.action = engine::ChatAction::kLoadModel;
  r.path = dir.toStdString();
  run(std::move(r), [this, dir](const engine::ChatOutcome& o) {
    if (o.status == engine::Status::kError) return;
    modelDir_ = dir;
    canvasImageIndex_ = -1;
    modelLabel_->setText(tr("Model: %1").arg(QFileInfo(dir).fileName()));
    modelLabel_->setToolTip(dir);
    Q_EMIT modelChanged(dir);
  });
}

void ChatPanel::setCanvasImage(const io::Image& image, const QString& name) {
  canvasImage_ = image;
  canvasName_ = name;
  canvasImageIndex_ = -1;
  canvasBtn_->setEnabled(!image.empty());
  Q_EMIT highlightChanged({}, 0, 0);
  rebuild();  // the tooltips and the line above the input say which image the next question is about
}

ChatPanel::NextImage ChatPanel::nextImage() const {
  if (!pending_.empty() || canvasImage_.empty() || canvasImageIndex_ >= 0) return NextImage::kAsAttached;
  if (turns_.empty()) return NextImage::kCanvas;
  // The conversation was about an earlier canvas image: the question follows the canvas, in a new
  // conversation (the small models answer about one image; a second one in the same context would
  // be answered from the first). A conversation about attached files stays as it is.
  return onCanvas_ ? NextImage::kNewConversation : NextImage::kAsAttached;
}

QString ChatPanel::canvasLabel() const { return canvasName_.isEmpty() ? tr("the canvas image") : canvasName_; }

// The image a turn's answer is about: the last one attached up to that turn, or -1.
int ChatPanel::imageOfTurn(std::size_t turn) const {
  int last = -1;
  for (std::size_t i = 0; i <= turn && i < turns_.size(); ++i)
    if (!turns_[i].images.empty()) last = turns_[i].images.back();
  return last;
}

void ChatPanel::attachCanvasImage() {
  if (canvasImage_.empty()) return;
  if (modelDir_.isEmpty()) {
    Q_EMIT errorOccurred(tr("Load a SeTokim model first"));
    return;
  }
  engine::ChatRequest r;
  r.action = engine::ChatAction::kAttach;
  r.image = canvasImage_;
  r.image_source = canvasName_.isEmpty() ? "canvas" : canvasName_.toStdString();
  run(std::move(r), [this](const engine::ChatOutcome& o) {
    if (o.status == engine::Status::kError) return;
    canvasImageIndex_ = o.image_index;
    onCanvas_ = true;
    rebuild();
  });
}

void ChatPanel::attachImageFile(const QString& path) {
  if (modelDir_.isEmpty()) {
    Q_EMIT errorOccurred(tr("Load a SeTokim model first"));
    return;
  }
  engine::ChatRequest r;
  r.action = engine::ChatAction::kAttach;
  r.path = path.toStdString();
  run(std::move(r), {});
}

void ChatPanel::startAnswer(engine::ChatRequest request, Then done) {
  live_.clear();
  request.sampling = sampling_;
  const bool sent = run(std::move(request), [this, done](const engine::ChatOutcome& o) {
    if (done) done(o);
    showAnsweredMask();
    Q_EMIT answerFinished();
  });
  if (!sent) return;
  // Show an empty answer at once; the outcome's conversation replaces it at the end.
  auto* it = new QListWidgetItem(tr("SeTokim: …"), list_);
  it->setData(kTurnRole, -1);
  list_->scrollToBottom();
}

void ChatPanel::ask(const QString& question) {
  if (modelDir_.isEmpty()) {
    Q_EMIT errorOccurred(tr("Load a SeTokim model first"));
    return;
  }
  if (question.isEmpty()) return;
  // The question follows the canvas image unless other images were attached to it.
  const NextImage next = nextImage();
  engine::ChatRequest r;
  r.action = engine::ChatAction::kAsk;
  r.text = question.toStdString();
  r.restart = next == NextImage::kNewConversation;
  if (next != NextImage::kAsAttached) {
    r.image = canvasImage_;
    r.image_source = canvasName_.isEmpty() ? "canvas" : canvasName_.toStdString();
  }
  input_->clear();
  if (r.restart) list_->clear();
  auto* mine = new QListWidgetItem(tr("You: %1").arg(question), list_);
  mine->setData(kTurnRole, -2);
  startAnswer(std::move(r), [this](const engine::ChatOutcome& o) {
    if (o.image_index < 0) return;
    canvasImageIndex_ = o.image_index;
    onCanvas_ = true;
    rebuild();
  });
}

void ChatPanel::regenerate() {
  if (modelDir_.isEmpty() || turns_.empty()) return;
  if (turns_.back().role == "assistant") delete list_->takeItem(list_->count() - 1);
  engine::ChatRequest r;
  r.action = engine::ChatAction::kRegenerate;
  startAnswer(std::move(r));
}

void ChatPanel::editAndRerun(int turn, const QString& question) {
  if (modelDir_.isEmpty() || question.isEmpty()) return;
  editTurn_ = -1;
  input_->clear();
  // Drop the rows from the edited question on (notes are rows without a turn); show it again as edited.
  int from = list_->count();
  for (int r = 0; r < list_->count(); ++r)
    if (list_->item(r)->data(kTurnRole).toInt() == turn) {
      from = r;
      break;
    }
  while (list_->count() > from) delete list_->takeItem(list_->count() - 1);
  auto* mine = new QListWidgetItem(tr("You: %1").arg(question), list_);
  mine->setData(kTurnRole, -2);
  engine::ChatRequest r;
  r.action = engine::ChatAction::kEdit;
  r.turn = static_cast<std::size_t>(turn);
  r.text = question.toStdString();
  startAnswer(std::move(r));
}

void ChatPanel::stop() {
  if (bridge_ && request_) bridge_->cancel(request_);
}

void ChatPanel::clear() {
  if (modelDir_.isEmpty()) return;
  engine::ChatRequest r;
  r.action = engine::ChatAction::kReset;
  run(std::move(r), [this](const engine::ChatOutcome&) {
    canvasImageIndex_ = -1;
    onCanvas_ = false;
    Q_EMIT highlightChanged({}, 0, 0);
    rebuild();
  });
}

bool ChatPanel::save(const QString& path, QString* error) const {
  try {
    io::write_file_atomic(path.toStdString(),
                          mllm::chat_to_json(modelDir_.toStdString(), images_, turns_).dump(2) + "\n");
    return true;
  } catch (const std::exception& e) {
    if (error) *error = QString::fromStdString(e.what()).section('\n', 0, 0);
    return false;
  }
}

void ChatPanel::open(const QString& path) {
  if (modelDir_.isEmpty()) {
    Q_EMIT errorOccurred(tr("Load a SeTokim model first"));
    return;
  }
  // Saved images named as the canvas image (or "canvas") come from the canvas; the rest from files.
  engine::ChatRequest r;
  r.action = engine::ChatAction::kOpenSaved;
  r.path = path.toStdString();
  r.image = canvasImage_;
  r.image_source = canvasName_.toStdString();
  run(std::move(r), [this](const engine::ChatOutcome&) {
    canvasImageIndex_ = -1;
    onCanvas_ = false;
    rebuild();
  });
}

int ChatPanel::rowCount() const { return list_->count(); }

QString ChatPanel::transcriptToolTip(int row) const {
  return row >= 0 && row < list_->count() ? list_->item(row)->toolTip() : QString();
}

QString ChatPanel::nextQuestionLabel() const { return attachLabel_->text(); }

QString ChatPanel::transcriptText(int row) const {
  return row >= 0 && row < list_->count() ? list_->item(row)->text() : QString();
}

void ChatPanel::hoverRow(int row) {
  if (row < 0 || row >= list_->count()) return;
  const int t = list_->item(row)->data(kTurnRole).toInt();
  if (t < 0 || static_cast<std::size_t>(t) >= turns_.size() || canvasImageIndex_ < 0) {
    Q_EMIT highlightChanged({}, 0, 0);
    return;
  }
  const mllm::ChatTurn& turn = turns_[static_cast<std::size_t>(t)];
  const auto ci = static_cast<std::size_t>(canvasImageIndex_);
  if (turn.role != "assistant" || ci >= turn.attention.size() || turn.attention[ci].empty() || ci >= images_.size()) {
    Q_EMIT highlightChanged({}, 0, 0);
    return;
  }
  const std::vector<float>& att = turn.attention[ci];
  const float top = *std::max_element(att.begin(), att.end());
  const mllm::ChatImage& im = images_[ci];
  std::vector<float> w(im.token_of_patch.size(), 0.0f);
  for (std::size_t p = 0; p < w.size(); ++p) {
    const int k = im.token_of_patch[p];
    if (k >= 0 && static_cast<std::size_t>(k) < att.size() && top > 0) w[p] = att[static_cast<std::size_t>(k)] / top;
  }
  Q_EMIT highlightChanged(w, im.grid_h, im.grid_w);
}

void ChatPanel::showAnsweredMask() {
  if (turns_.empty() || !turns_.back().mask) return;
  const mllm::ChatMask& m = *turns_.back().mask;
  if (!m.error.empty() || m.image != canvasImageIndex_ || m.mask.empty()) return;
  QString name;
  for (const auto& t : turns_)
    if (t.role == "user") name = QString::fromStdString(t.text);
  std::vector<float> wash(m.mask.begin(), m.mask.end());
  Q_EMIT highlightChanged(wash, m.height, m.width);
  Q_EMIT maskAnswered(name.left(60), m.mask, m.width, m.height);
}

void ChatPanel::rebuild() {
  list_->clear();
  for (std::size_t i = 0; i < turns_.size(); ++i) {
    const auto& t = turns_[i];
    QString text;
    if (t.role == "user") {
      QStringList names;
      for (int k : t.images)
        if (k >= 0 && static_cast<std::size_t>(k) < images_.size())
          names << QFileInfo(QString::fromStdString(images_[static_cast<std::size_t>(k)].source)).fileName();
      text = tr("You: %1").arg(QString::fromStdString(t.text));
      if (!names.isEmpty()) text = tr("[%1] ").arg(names.join(", ")) + text;
    } else if (t.text.empty() && !t.stopped) {
      text = tr("SeTokim: (no answer: the model ended without a word; try asking another way)");
    } else {
      text = tr("SeTokim: %1").arg(QString::fromStdString(t.text));
      if (t.stopped) text += tr("  (stopped)");
      if (t.mask) text += maskNote(*t.mask);
    }
    auto* it = new QListWidgetItem(text, list_);
    it->setData(kTurnRole, static_cast<int>(i));
    it->setToolTip(t.role == "assistant" ? answerToolTip(i) : tr("Right-click: copy, or edit and re-run from here"));
    if (t.role == "assistant" && t.text.empty() && !t.stopped)
      it->setForeground(palette().color(QPalette::PlaceholderText));
    if (t.role == "user") addDomainNote(t);
  }
  list_->scrollToBottom();
  QStringList waiting;
  for (int k : pending_)
    if (k >= 0 && static_cast<std::size_t>(k) < images_.size())
      waiting << QString("%1 (%2 tokens)")
                     .arg(QFileInfo(QString::fromStdString(images_[static_cast<std::size_t>(k)].source)).fileName())
                     .arg(images_[static_cast<std::size_t>(k)].tokens);
  attachLabel_->setText(nextQuestionText(waiting));
}

// Under a question: where it, or an image it carries, is far from what the model was trained on
// (its domain profile, domain.json), so a wrong answer does not come as a surprise.
void ChatPanel::addDomainNote(const mllm::ChatTurn& t) {
  const QString model = QFileInfo(modelDir_).fileName();
  QStringList notes;
  for (int k : t.images)
    if (k >= 0 && static_cast<std::size_t>(k) < images_.size() && images_[static_cast<std::size_t>(k)].unfamiliar)
      notes << tr("%1 is unlike the images %2 was trained on: its answers may be wrong.")
                   .arg(QFileInfo(QString::fromStdString(images_[static_cast<std::size_t>(k)].source)).fileName(),
                        model);
  if (!t.unknown_words.empty()) {
    QStringList words;
    for (const auto& w : t.unknown_words) words << "“" + QString::fromStdString(w) + "”";
    notes << tr("%1 never saw %2 in a training question: it may not understand the question.")
                 .arg(model, words.join(", "));
  }
  if (notes.isEmpty()) return;
  auto* it = new QListWidgetItem("⚠ " + notes.join("\n⚠ "), list_);
  it->setData(kTurnRole, -3);
  it->setForeground(QColor(0xb0, 0x60, 0x00));
  it->setToolTip(tr("What the model knows is in its card (card.md in its folder)."));
}

QString ChatPanel::nextQuestionText(const QStringList& waiting) const {
  if (!waiting.isEmpty()) return tr("Attached to the next question: %1").arg(waiting.join(", "));
  switch (nextImage()) {
    case NextImage::kCanvas:
      return tr("The next question is about %1 (the canvas image)").arg(canvasLabel());
    case NextImage::kNewConversation:
      return tr("The canvas now shows %1: the next question starts a new conversation about it (Save… keeps this "
                "one)")
          .arg(canvasLabel());
    case NextImage::kAsAttached:
      break;
  }
  const int last = turns_.empty() ? -1 : imageOfTurn(turns_.size() - 1);
  if (last >= 0 && static_cast<std::size_t>(last) < images_.size())
    return tr("Talking about %1")
        .arg(QFileInfo(QString::fromStdString(images_[static_cast<std::size_t>(last)].source)).fileName());
  return tr("No image attached to the next question");
}

// What hovering an answer does, said truthfully: a wash only where the answer looked at the image
// on the canvas.
QString ChatPanel::answerToolTip(std::size_t turn) const {
  const mllm::ChatTurn& t = turns_[turn];
  const auto ci = static_cast<std::size_t>(canvasImageIndex_);
  if (canvasImageIndex_ >= 0 && ci < t.attention.size() && !t.attention[ci].empty())
    return tr("Hover: what the answer looked at, on the canvas. Right-click: copy");
  const int k = imageOfTurn(turn);
  if (k >= 0 && static_cast<std::size_t>(k) < images_.size())
    return tr("About %1, not the image on the canvas: hovering shows nothing. Right-click: copy")
        .arg(QFileInfo(QString::fromStdString(images_[static_cast<std::size_t>(k)].source)).fileName());
  return tr("An answer without an image. Right-click: copy");
}

void ChatPanel::setBusy(bool busy) {
  busy_ = busy;
  send_->setEnabled(!busy);
  regen_->setEnabled(!busy);
  stop_->setEnabled(busy);
}

void ChatPanel::showContextMenu(const QPoint& pos) {
  QListWidgetItem* it = list_->itemAt(pos);
  if (!it) return;
  const int t = it->data(kTurnRole).toInt();
  QMenu menu(this);
  menu.addAction(tr("Copy"), this, [it] {
    QString s = it->text();
    s = s.section(": ", 1);  // without the speaker
    QApplication::clipboard()->setText(s);
  });
  if (t >= 0 && static_cast<std::size_t>(t) < turns_.size() && turns_[static_cast<std::size_t>(t)].role == "user" &&
      !busy_) {
    menu.addAction(tr("Edit and re-run from here"), this, [this, t] {
      editTurn_ = t;
      input_->setPlainText(QString::fromStdString(turns_[static_cast<std::size_t>(t)].text));
      input_->setFocus();
    });
  }
  menu.exec(list_->viewport()->mapToGlobal(pos));
}

bool ChatPanel::eventFilter(QObject* watched, QEvent* e) {
  if (watched == list_->viewport() && e->type() == QEvent::Leave) Q_EMIT highlightChanged({}, 0, 0);
  return QWidget::eventFilter(watched, e);
}

void ChatPanel::dragEnterEvent(QDragEnterEvent* e) {
  if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void ChatPanel::dropEvent(QDropEvent* e) {
  for (const QUrl& u : e->mimeData()->urls())
    if (u.isLocalFile()) {
      attachImageFile(u.toLocalFile());
      break;  // one job at a time; drop the next one after this one is encoded
    }
}

}  // namespace setok::ui
