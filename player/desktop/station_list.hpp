// The stations the user listens to, remembered across runs (QSettings).
#pragma once

#include <QAbstractListModel>
#include <QString>
#include <QVector>

namespace alluvium::player {

struct Station {
    QString title;  // as the playlist names it (the URL until known)
    QString url;    // playlist URL or file
};

class StationList : public QAbstractListModel {
    Q_OBJECT
  public:
    explicit StationList(QObject* parent = nullptr);

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role) const override;

    // Adds (or renames) a station and saves the list.
    void remember(const QString& url, const QString& title);
    void forget(int row);
    [[nodiscard]] const Station& at(int row) const { return stations_.at(row); }

  private:
    void save() const;
    QVector<Station> stations_;
};

}  // namespace alluvium::player
