#include "cover_view.hpp"

#include <QCoreApplication>
#include <QLinearGradient>
#include <QPainter>
#include <QPointer>
#include <QThreadPool>
#include <algorithm>

namespace alluvium::player {

namespace {

QLinearGradient gradient_for(const QRect& area, const QString& title) {
    const int hue = static_cast<int>(qHash(title) % 360);
    QLinearGradient g(area.topLeft(), area.bottomRight());
    g.setColorAt(0, QColor::fromHsv(hue, 150, 120));
    g.setColorAt(1, QColor::fromHsv((hue + 60) % 360, 170, 50));
    return g;
}

}  // namespace

CoverView::CoverView(QThreadPool& pool, QWidget* parent) : QWidget(parent), pool_(pool) {
    setMinimumSize(200, 150);
    setAttribute(Qt::WA_OpaquePaintEvent);  // every paint covers the whole view
}

void CoverView::setContent(const QString& station, const QString& title) {
    if (station == station_ && title == title_)
        return;
    station_ = station;
    title_ = title;
    draw();
}

void CoverView::paint(QPainter& p, const QRect& area, const QFont& base, const QString& station,
                      const QString& title) {
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(area, gradient_for(area, title));
    p.setPen(Qt::white);
    QFont big = base;
    big.setPointSizeF(std::max(12.0, area.height() / 9.0));
    big.setBold(true);
    p.setFont(big);
    const QRect r = area.adjusted(20, 20, -20, -20);
    p.drawText(r, Qt::AlignCenter | Qt::TextWordWrap,
               title.isEmpty() ? QString("Alluvium") : title);
    QFont small = base;
    small.setPointSizeF(std::max(9.0, area.height() / 22.0));
    p.setFont(small);
    p.drawText(r, Qt::AlignBottom | Qt::AlignHCenter, station);
}

void CoverView::paintEvent(QPaintEvent*) {
    QPainter p(this);
    if (card_.isNull()) {
        p.fillRect(rect(), gradient_for(rect(), title_));
        return;
    }
    // The card's device pixel ratio maps it onto the view's logical size; a card drawn for
    // another size is stretched until the right one arrives.
    p.drawImage(rect(), card_);
}

void CoverView::resizeEvent(QResizeEvent*) {
    draw();
}

CoverView::Request CoverView::wanted() const {
    const qreal ratio = devicePixelRatioF();
    return {station_, title_, size() * ratio, ratio};
}

void CoverView::draw() {
    if (drawing_)
        return;  // drawn() asks again if what is wanted changed meanwhile
    const Request request = wanted();
    if (request.pixels.isEmpty() || (!card_.isNull() && request == shown_))
        return;
    drawing_ = true;
    pool_.start([self = QPointer<CoverView>(this), request, base = font()] {
        QImage card(request.pixels, QImage::Format_RGB32);
        card.setDevicePixelRatio(request.ratio);
        QPainter p(&card);
        paint(p, QRect(QPoint(0, 0), request.pixels / request.ratio), base, request.station,
              request.title);
        p.end();
        QMetaObject::invokeMethod(
            QCoreApplication::instance(),
            [self, request, card] {
                if (self)
                    self->drawn(request, card);
            },
            Qt::QueuedConnection);
    });
}

void CoverView::drawn(const Request& request, const QImage& card) {
    drawing_ = false;
    card_ = card;
    shown_ = request;
    update();
    draw();  // the content or the size may have changed while it was drawn
}

}  // namespace alluvium::player
