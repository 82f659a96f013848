// The swarm panel's chart: bytes a second from peers, the gateway and the origin over the
// last five minutes, from the Tuner's published status (one point a second at most). GUI
// thread only.
#pragma once

#include <QWidget>
#include <chrono>
#include <cstdint>
#include <deque>

namespace alluvium::player {

class SwarmChart : public QWidget {
    Q_OBJECT
  public:
    explicit SwarmChart(QWidget* parent = nullptr);

    // The byte counters as the status has them now; a point is added once a second.
    void add(std::uint64_t from_peers, std::uint64_t from_gateway, std::uint64_t from_origin);
    [[nodiscard]] int points() const { return static_cast<int>(samples_.size()); }
    [[nodiscard]] QSize sizeHint() const override;

  protected:
    void paintEvent(QPaintEvent*) override;

  private:
    struct Sample {
        std::chrono::steady_clock::time_point t;
        std::uint64_t bytes[3];  // peers, gateway, origin
    };
    std::deque<Sample> samples_;
};

}  // namespace alluvium::player
