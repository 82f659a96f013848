#include "station_list.hpp"

#include <QSettings>

namespace alluvium::player {

StationList::StationList(QObject* parent) : QAbstractListModel(parent) {
    QSettings settings;
    const int n = settings.beginReadArray("stations");
    for (int i = 0; i < n; ++i) {
        settings.setArrayIndex(i);
        const QString url = settings.value("url").toString();
        if (!url.isEmpty())
            stations_.push_back({settings.value("title", url).toString(), url});
    }
    settings.endArray();
}

int StationList::rowCount(const QModelIndex& parent) const {
    return parent.isValid() ? 0 : static_cast<int>(stations_.size());
}

QVariant StationList::data(const QModelIndex& index, int role) const {
    if (!index.isValid() || index.row() >= stations_.size())
        return {};
    const Station& s = stations_.at(index.row());
    if (role == Qt::DisplayRole)
        return s.title;
    if (role == Qt::ToolTipRole) {
        // Tool tips guess whether text is HTML: always markup, with the URL escaped in it.
        return QStringLiteral("<p style='white-space:pre'>%1</p>").arg(s.url.toHtmlEscaped());
    }
    return {};
}

void StationList::remember(const QString& url, const QString& title) {
    for (int i = 0; i < stations_.size(); ++i) {
        if (stations_[i].url == url) {
            if (!title.isEmpty() && stations_[i].title != title) {
                stations_[i].title = title;
                emit dataChanged(index(i), index(i));
                save();
            }
            return;
        }
    }
    beginInsertRows({}, static_cast<int>(stations_.size()), static_cast<int>(stations_.size()));
    stations_.push_back({title.isEmpty() ? url : title, url});
    endInsertRows();
    save();
}

void StationList::forget(int row) {
    if (row < 0 || row >= stations_.size())
        return;
    beginRemoveRows({}, row, row);
    stations_.removeAt(row);
    endRemoveRows();
    save();
}

void StationList::save() const {
    QSettings settings;
    settings.beginWriteArray("stations", static_cast<int>(stations_.size()));
    for (int i = 0; i < stations_.size(); ++i) {
        settings.setArrayIndex(i);
        settings.setValue("url", stations_[i].url);
        settings.setValue("title", stations_[i].title);
    }
    settings.endArray();
}

}  // namespace alluvium::player
