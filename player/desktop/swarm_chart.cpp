#include "swarm_chart.hpp"

#include <QPainter>
#include <QPolygonF>
#include <algorithm>
#include <array>
#include <vector>

namespace alluvium::player {

namespace {

constexpr auto span = std::chrono::minutes(5);
constexpr auto step = std::chrono::seconds(1);
// The web page's colours (web/common/alluvium.css): peers, gateway, origin.
const QColor colours[3] = {QColor("#2e8b57"), QColor("#d08c16"), QColor("#c0392b")};

}  // namespace

SwarmChart::SwarmChart(QWidget* parent) : QWidget(parent) {
    // A fixed height and a size hint of its own: new points repaint the chart and never
    // lay the window out again.
    setMinimumWidth(160);
    setFixedHeight(70);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setAttribute(Qt::WA_OpaquePaintEvent);
    setToolTip(
        "Bytes a second over the last five minutes: from peers (green), the gateway "
        "(amber), the origin (red)");
}

void SwarmChart::add(std::uint64_t from_peers, std::uint64_t from_gateway,
                     std::uint64_t from_origin) {
    const auto now = std::chrono::steady_clock::now();
    if (!samples_.empty() && now - samples_.back().t < step)
        return;
    samples_.push_back({now, {from_peers, from_gateway, from_origin}});
    while (!samples_.empty() && now - samples_.front().t > span)
        samples_.pop_front();
    update();
}

QSize SwarmChart::sizeHint() const {
    return {200, 70};
}

void SwarmChart::paintEvent(QPaintEvent*) {
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    p.fillRect(rect(), palette().color(QPalette::Base));
    const QRectF area = QRectF(rect()).adjusted(1, 1, -1, -1);
    p.setPen(palette().color(QPalette::Mid));
    p.drawRect(area);
    if (samples_.size() < 2)
        return;
    // Rates between consecutive samples, and the largest for the scale.
    std::vector<std::array<double, 3>> rates;
    double peak = 1000;
    for (std::size_t i = 1; i < samples_.size(); ++i) {
        const double seconds =
            std::chrono::duration<double>(samples_[i].t - samples_[i - 1].t).count();
        std::array<double, 3> r{};
        for (int k = 0; k < 3; ++k) {
            const auto a = samples_[i - 1].bytes[k];
            const auto b = samples_[i].bytes[k];
            r[static_cast<std::size_t>(k)] = b > a ? static_cast<double>(b - a) / seconds : 0.0;
            peak = std::max(peak, r[static_cast<std::size_t>(k)]);
        }
        rates.push_back(r);
    }
    const auto newest = samples_.back().t;
    const double width = std::chrono::duration<double>(span).count();
    // Polylines with cosmetic one-pixel pens take the rasteriser's fast path; a path with a
    // wider pen is stroked into triangles first, which took over a millisecond a paint.
    QPolygonF line(static_cast<int>(rates.size()));
    for (int k = 0; k < 3; ++k) {
        for (std::size_t i = 0; i < rates.size(); ++i) {
            const double age = std::chrono::duration<double>(newest - samples_[i + 1].t).count();
            line[static_cast<int>(i)] =
                QPointF(area.right() - area.width() * age / width,
                        area.bottom() -
                            area.height() * rates[i][static_cast<std::size_t>(k)] / (peak * 1.1));
        }
        QPen pen(colours[k], 1);
        pen.setCosmetic(true);
        p.setPen(pen);
        p.drawPolyline(line);
    }
}

}  // namespace alluvium::player
