// The stream's side of remuxing and transcoding: the swarm's Item as the codec module reads
// it.
#include "remux.hpp"

#include "../swarm/engine.hpp"

namespace alluvium::detail {

Converter::Converter(std::optional<AudioParams> into, std::function<void()> made)
    : made_(std::move(made)), transcodes_(into.has_value()) {
    if (Codecs* c = codecs())
        impl_ = into ? c->transcoder(*into) : c->remuxer();
}

Converter::~Converter() {
    stop();
}

void Converter::start(std::shared_ptr<Item> item, Milliseconds offset,
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
    source.made = made_;
    impl_->start(std::move(source), offset, bytes_per_second, std::move(item_now), std::move(name));
}

void Converter::stop() {
    if (impl_)
        impl_->stop();
}

void Converter::poke() {
    if (impl_)
        impl_->poke();
}

Converter::Take Converter::take(Milliseconds until, Milliseconds base, TsChunk& out) {
    return impl_ ? impl_->take(until, base, out) : Take::error;
}

std::string Converter::error() const {
    if (impl_)
        return impl_->error();
    return (transcodes_ ? "it cannot be transcoded: " : "video cannot be remuxed: ") +
           codecs_error();
}

std::shared_ptr<const std::string> Converter::tables() const {
    return impl_ ? impl_->tables() : nullptr;
}

}  // namespace alluvium::detail
