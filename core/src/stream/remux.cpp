// The stream's side of video remuxing: the swarm's Item as the codec module reads it.
#include "remux.hpp"

#include "../swarm/engine.hpp"

namespace alluvium::detail {

TsRemuxer::TsRemuxer() {
    if (Codecs* c = codecs())
        impl_ = c->remuxer();
}

TsRemuxer::~TsRemuxer() {
    stop();
}

void TsRemuxer::start(std::shared_ptr<Item> item, Milliseconds offset,
                      std::uint64_t bytes_per_second, std::function<Milliseconds()> item_now,
                      std::string name) {
    if (!impl_)
        return;
    ItemSource source;
    source.read = [item](std::uint64_t at, char* out, std::size_t max) {
        return item->read(at, out, max);
    };
    source.need = [item](std::uint64_t at, std::uint64_t rate, Milliseconds starts_in) {
        item->need(at, rate, starts_in);
    };
    source.size = [item] { return item->size(); };
    source.failure = [item]() -> std::optional<std::string> {
        if (item->state() != ItemState::failed)
            return std::nullopt;
        return item->error();
    };
    impl_->start(std::move(source), offset, bytes_per_second, std::move(item_now), std::move(name));
}

void TsRemuxer::stop() {
    if (impl_)
        impl_->stop();
}

void TsRemuxer::poke() {
    if (impl_)
        impl_->poke();
}

TsRemuxer::Take TsRemuxer::take(Milliseconds until, Milliseconds base, TsChunk& out) {
    return impl_ ? impl_->take(until, base, out) : Take::error;
}

std::string TsRemuxer::error() const {
    return impl_ ? impl_->error() : "video cannot be remuxed: " + codecs_error();
}

std::shared_ptr<const std::string> TsRemuxer::tables() const {
    return impl_ ? impl_->tables() : nullptr;
}

}  // namespace alluvium::detail
