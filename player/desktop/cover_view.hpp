// The picture for audio: a card with the station and what plays, on a gradient whose hue
// comes from the title (so items look different).
//
// The card is drawn on the thread of the pool it is given and shown as an image: large
// antialiased text takes milliseconds to draw, and the GUI thread must not stall at each
// new title or while the window is resized. Until the first card arrives the view shows
// the gradient alone; while a new one is drawn it shows the previous one (scaled if the size
// changed).
//
// Thread-safety: GUI thread only, like any widget. paint() is safe on any thread (it draws
// into whatever QPainter it is given; the window's MPRIS artwork uses it on the pool). A card
// that finishes after the view is destroyed is dropped; the pool's owner waits for the pool
// before the view's parent goes.
#pragma once

#include <QImage>
#include <QString>
#include <QWidget>

class QThreadPool;

namespace alluvium::player {

class CoverView : public QWidget {
    Q_OBJECT
  public:
    // `pool` draws the cards; it must outlive the view's drawings (its owner waits for it).
    explicit CoverView(QThreadPool& pool, QWidget* parent = nullptr);

    void setContent(const QString& station, const QString& title);

    // The card for `title` on `station`, filling `area`.
    static void paint(QPainter& p, const QRect& area, const QFont& base, const QString& station,
                      const QString& title);

  protected:
    void paintEvent(QPaintEvent*) override;
    void resizeEvent(QResizeEvent*) override;

  private:
    struct Request {
        QString station;
        QString title;
        QSize pixels;  // the size in device pixels
        qreal ratio = 1;
        bool operator==(const Request&) const = default;
    };
    [[nodiscard]] Request wanted() const;
    void draw();  // starts drawing the wanted card unless one is already being drawn
    void drawn(const Request& request, const QImage& card);

    QThreadPool& pool_;
    QString station_;
    QString title_;
    QImage card_;    // the last card drawn
    Request shown_;  // what card_ shows
    bool drawing_ = false;
};

}  // namespace alluvium::player
