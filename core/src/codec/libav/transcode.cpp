// Items an audio stream cannot take byte for byte (FLAC, WAV or Opus on an MP3 station, MP3
// on an Ogg one), decoded and re-encoded into the stream's format on the listener with
// libavcodec and libswresample (the codec module). The stream side is Converter
// (stream/remux.hpp); `/items/<n>` still serves the item's own bytes.
#include "../../common/log.hpp"
#include "../codec.hpp"
#include "airing.hpp"
#include "encoder.hpp"

extern "C" {
#include <libavutil/audio_fifo.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>
}

#include <algorithm>
#include <deque>
#include <utility>

namespace alluvium::detail {
namespace {

struct SwrFree {
    void operator()(SwrContext* s) const { swr_free(&s); }
};
struct FifoFree {
    void operator()(AVAudioFifo* f) const { av_audio_fifo_free(f); }
};

// Encoded bytes of the stream's format and the item time they cover.
struct Piece {
    std::string bytes;
    Milliseconds from{0};
    Milliseconds to{0};
};

// One airing: decoded and re-encoded from an offset on its own thread
// ("alluvium-transcode"), up to read_ahead beyond what the stream has taken. `m` (airing.hpp)
// guards what the stream takes: `headers`, `queue`, and `sent_headers`.
struct TranscodeAiring final : Airing {
    AudioParams into;
    std::string headers;  // the stream's header (Ogg's header pages); set when ready
    std::deque<Piece> queue;
    bool sent_headers = false;

    ~TranscodeAiring() override { stop(); }

  protected:
    void work() override;
};

// The work of one airing, on its thread.
class Transcode {
  public:
    explicit Transcode(TranscodeAiring& a) : a_(a) {}
    Transcode(const Transcode&) = delete;
    Transcode& operator=(const Transcode&) = delete;
    ~Transcode() { av_channel_layout_uninit(&in_layout_); }
    void run();

  private:
    bool open();  // false: failed or stopping (said so)
    void seek_to_offset();
    bool decode(const AVPacket* pkt);    // null: the end; false: stop
    bool convert(const AVFrame* frame);  // into the FIFO, in the encoder's format
    bool resampler_for(const AVFrame& frame);
    bool encode(bool last);           // what the FIFO holds in whole frames (and the rest if last)
    bool send(const AVFrame* frame);  // to the encoder (null: the end), then emit()
    bool emit();                      // the bytes muxed so far, into the queue

    TranscodeAiring& a_;
    IoPtr io_;
    InputPtr fmt_;
    CodecPtr dec_;
    int audio_ = -1;
    std::int64_t start_ = 0;  // the audio stream's first timestamp (its time base)
    AudioEncoder enc_;
    std::unique_ptr<SwrContext, SwrFree> swr_;
    std::unique_ptr<AVAudioFifo, FifoFree> fifo_;
    FramePtr decoded_{av_frame_alloc()};
    FramePtr converted_{av_frame_alloc()};
    FramePtr frame_{av_frame_alloc()};
    int in_format_ = -1;  // what the resampler was made for
    int in_rate_ = 0;
    AVChannelLayout in_layout_{};
    std::int64_t next_ = -1;  // item time of the next sample into the encoder (samples)
    std::int64_t drop_ = 0;   // samples before the offset still to leave out
    Milliseconds emitted_{0};
};

bool Transcode::open() {
    if (!a_.open_input(io_, fmt_, 1024 * 1024))
        return false;
    audio_ = av_find_best_stream(fmt_.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
    if (audio_ < 0) {
        a_.fail("it has no audio stream");
        return false;
    }
    const AVStream* st = fmt_->streams[audio_];
    const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
    if (codec == nullptr) {
        a_.fail(std::string("no decoder for ") + avcodec_get_name(st->codecpar->codec_id));
        return false;
    }
    dec_.reset(avcodec_alloc_context3(codec));
    avcodec_parameters_to_context(dec_.get(), st->codecpar);
    dec_->pkt_timebase = st->time_base;
    if (const int r = avcodec_open2(dec_.get(), codec, nullptr); r < 0) {
        a_.fail("cannot decode it: " + av_error(r));
        return false;
    }
    start_ = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
    if (!enc_.open(a_.into, a_.name)) {
        a_.fail(enc_.error());
        return false;
    }
    const AVCodecContext& enc = enc_.context();
    fifo_.reset(av_audio_fifo_alloc(enc.sample_fmt, enc.ch_layout.nb_channels, enc.frame_size));
    emitted_ = a_.offset;
    std::lock_guard lock(a_.m);
    a_.headers = enc_.take();
    a_.taken = a_.offset;
    a_.ready = true;
    return !a_.stopping;
}

void Transcode::seek_to_offset() {
    if (a_.offset.count() <= 0)
        return;
    const AVStream* st = fmt_->streams[audio_];
    const std::int64_t at = start_ + av_rescale_q(a_.offset.count(), ms_base, st->time_base);
    // Where the format cannot seek, the item is decoded from its start and what comes before
    // the offset left out.
    if (const int r = av_seek_frame(fmt_.get(), audio_, at, AVSEEK_FLAG_BACKWARD); r < 0)
        log().debug("stream: {}: cannot seek to {} ({})", a_.name, format_duration(a_.offset),
                    av_error(r));
    avcodec_flush_buffers(dec_.get());
}

bool Transcode::resampler_for(const AVFrame& frame) {
    if (swr_ && frame.format == in_format_ && frame.sample_rate == in_rate_ &&
        av_channel_layout_compare(&frame.ch_layout, &in_layout_) == 0) {
        return true;
    }
    av_channel_layout_uninit(&in_layout_);
    av_channel_layout_copy(&in_layout_, &frame.ch_layout);
    in_format_ = frame.format;
    in_rate_ = frame.sample_rate;
    AVChannelLayout in{};
    if (frame.ch_layout.order == AV_CHANNEL_ORDER_UNSPEC)
        av_channel_layout_default(&in, frame.ch_layout.nb_channels);
    else
        av_channel_layout_copy(&in, &frame.ch_layout);
    const AVCodecContext& enc = enc_.context();
    AVChannelLayout out{};  // (FFmpeg 5.1 takes the layouts as non-const)
    av_channel_layout_copy(&out, &enc.ch_layout);
    SwrContext* s = nullptr;
    const int r = swr_alloc_set_opts2(&s, &out, enc.sample_fmt, enc.sample_rate, &in,
                                      static_cast<AVSampleFormat>(frame.format), frame.sample_rate,
                                      0, nullptr);
    av_channel_layout_uninit(&out);
    av_channel_layout_uninit(&in);
    swr_.reset(s);
    if (r < 0 || swr_init(s) < 0) {
        a_.fail("cannot convert its audio (" + std::to_string(frame.sample_rate) + " Hz, " +
                std::to_string(frame.ch_layout.nb_channels) + " channels)");
        return false;
    }
    return true;
}

bool Transcode::convert(const AVFrame* frame) {
    if (frame != nullptr && !resampler_for(*frame))
        return false;
    if (!swr_)
        return true;  // nothing was decoded
    const int in_samples = frame != nullptr ? frame->nb_samples : 0;
    const int room = swr_get_out_samples(swr_.get(), in_samples);
    if (room <= 0)
        return true;
    if (!enc_.make_frame(*converted_, room))
        return false;
    const int n = swr_convert(
        swr_.get(), converted_->data, room,
        frame != nullptr ? const_cast<const std::uint8_t**>(frame->extended_data) : nullptr,
        in_samples);
    if (n <= 0)
        return n == 0;
    av_audio_fifo_write(fifo_.get(), reinterpret_cast<void**>(converted_->data), n);
    const int dropped = static_cast<int>(std::min<std::int64_t>(drop_, n));
    if (dropped > 0) {
        av_audio_fifo_drain(fifo_.get(), dropped);
        drop_ -= dropped;
    }
    return true;
}

bool Transcode::decode(const AVPacket* pkt) {
    if (const int r = avcodec_send_packet(dec_.get(), pkt); r < 0 && r != AVERROR_EOF) {
        log().debug("stream: {}: a packet did not decode: {}", a_.name, av_error(r));
        return true;
    }
    while (true) {
        const int r = avcodec_receive_frame(dec_.get(), decoded_.get());
        if (r == AVERROR(EAGAIN) || r == AVERROR_EOF)
            break;
        if (r < 0) {
            log().debug("stream: {}: {}", a_.name, av_error(r));
            break;
        }
        if (next_ < 0) {
            // The first sample decoded: where it falls against the offset.
            const AVStream* st = fmt_->streams[audio_];
            const std::int64_t ts = decoded_->best_effort_timestamp;
            const Milliseconds t{ts != AV_NOPTS_VALUE
                                     ? av_rescale_q(ts - start_, st->time_base, ms_base)
                                     : a_.offset.count()};
            const int rate = enc_.context().sample_rate;
            const Milliseconds from = std::max(t, a_.offset);
            drop_ = (from - t).count() * rate / 1000;
            next_ = from.count() * rate / 1000;
        }
        const bool converted = convert(decoded_.get());
        av_frame_unref(decoded_.get());
        if (!converted || !encode(false))
            return false;
    }
    if (pkt == nullptr)
        return convert(nullptr) && encode(true);
    return true;
}

bool Transcode::encode(bool last) {
    const AVCodecContext& enc = enc_.context();
    const int size = enc_.frame_size();
    const bool short_last = (enc.codec->capabilities & (AV_CODEC_CAP_SMALL_LAST_FRAME |
                                                        AV_CODEC_CAP_VARIABLE_FRAME_SIZE)) != 0;
    while (av_audio_fifo_size(fifo_.get()) >= size ||
           (last && av_audio_fifo_size(fifo_.get()) > 0)) {
        const int n = std::min(size, av_audio_fifo_size(fifo_.get()));
        if (!enc_.make_frame(*frame_, n < size && !short_last ? size : n))
            return false;
        if (frame_->nb_samples > n) {
            av_samples_set_silence(frame_->data, n, frame_->nb_samples - n,
                                   enc.ch_layout.nb_channels, enc.sample_fmt);
        }
        av_audio_fifo_read(fifo_.get(), reinterpret_cast<void**>(frame_->data), n);
        frame_->pts = next_;
        next_ += frame_->nb_samples;
        if (!send(frame_.get()))
            return false;
    }
    return !last || send(nullptr);
}

bool Transcode::send(const AVFrame* frame) {
    if (!enc_.send(frame)) {
        a_.fail(enc_.error());
        return false;
    }
    return emit();
}

bool Transcode::emit() {
    std::string bytes = enc_.take();
    if (bytes.empty())
        return true;
    const Milliseconds to{std::max<std::int64_t>(
        emitted_.count() + 1, enc_.muxed_until() * 1000 / enc_.context().sample_rate)};
    std::unique_lock lock(a_.m);
    const bool first = a_.queue.empty();
    a_.queue.push_back(Piece{std::move(bytes), emitted_, to});
    emitted_ = to;
    return a_.pace(to, first, lock);
}

void Transcode::run() {
    if (!open())
        return;
    seek_to_offset();
    for (;;) {
        PacketPtr pkt(av_packet_alloc());
        const int r = av_read_frame(fmt_.get(), pkt.get());
        if (r == AVERROR_EXIT)
            return;
        if (r < 0) {
            if (r != AVERROR_EOF)
                log().warn("stream: {}: {} (the rest of it is skipped)", a_.name, av_error(r));
            break;
        }
        if (pkt->stream_index == audio_ && !decode(pkt.get()))
            return;
    }
    decode(nullptr);
}

void TranscodeAiring::work() {
    Transcode(*this).run();
}

class LibavTranscoder final : public Remuxer {
  public:
    explicit LibavTranscoder(AudioParams into) : into_(std::move(into)) {}
    ~LibavTranscoder() override { stop(); }
    void start(ItemSource item, Milliseconds offset, std::uint64_t bytes_per_second,
               std::function<Milliseconds()> item_now, std::string name) override;
    void stop() override;
    void poke() override;
    Take take(Milliseconds until, Milliseconds base, TsChunk& out) override;
    [[nodiscard]] std::string error() const override { return error_; }
    [[nodiscard]] std::shared_ptr<const std::string> tables() const override;

  private:
    AudioParams into_;
    CurrentAiring<TranscodeAiring> airing_;
    std::shared_ptr<const std::string> headers_;  // the current airing's; the stream's thread
    std::string error_;                           // the stream's thread
};

void LibavTranscoder::start(ItemSource item, Milliseconds offset, std::uint64_t bytes_per_second,
                            std::function<Milliseconds()> item_now, std::string name) {
    airing_.start(std::move(item), offset, bytes_per_second, std::move(item_now), std::move(name),
                  "alluvium-transcode", [this](TranscodeAiring& a) { a.into = into_; });
    headers_.reset();
    error_.clear();
}

void LibavTranscoder::stop() {
    airing_.stop();
}

void LibavTranscoder::poke() {
    airing_.poke();
}

Remuxer::Take LibavTranscoder::take(Milliseconds until, Milliseconds /*base*/, TsChunk& out) {
    const auto a = airing_.get();
    if (!a)
        return Take::end;
    std::lock_guard lock(a->m);
    if (!a->error.empty()) {
        error_ = a->error;
        return Take::error;
    }
    if (a->ready && until > a->taken) {
        a->taken = until;
        a->cv.notify_all();  // the airing runs ahead of what is taken
    }
    if (a->queue.empty())
        return a->done ? Take::end : Take::waiting;
    if (a->queue.front().from >= until)
        return Take::not_due;
    out = TsChunk{};
    out.from = a->queue.front().from;
    out.sync = true;  // whole frames (MP3, ADTS) or whole pages (Ogg)
    if (!a->sent_headers) {
        a->sent_headers = true;
        out.tables = true;
        out.bytes = a->headers;
        if (!a->headers.empty())
            headers_ = std::make_shared<const std::string>(a->headers);
    }
    while (!a->queue.empty() && a->queue.front().from < until) {
        out.bytes += a->queue.front().bytes;
        out.to = std::max(out.to, a->queue.front().to);
        a->queue.pop_front();
    }
    a->cv.notify_all();
    return Take::chunk;
}

std::shared_ptr<const std::string> LibavTranscoder::tables() const {
    return headers_;
}

}  // namespace

std::unique_ptr<Remuxer> libav_transcoder(const AudioParams& into) {
    return std::make_unique<LibavTranscoder>(into);
}

}  // namespace alluvium::detail
