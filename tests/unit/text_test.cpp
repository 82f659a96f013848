// The text helpers (alluvium/text.hpp).
#include <alluvium/text.hpp>

#include <gtest/gtest.h>

namespace alluvium {
namespace {

TEST(Text, Base64RoundTripsAndRefusesWhatIsNotBase64) {
    for (const std::string bytes : {"", "f", "fo", "foo", "foob", "fooba", "foobar"}) {
        const std::string encoded = base64_encode(bytes);
        const auto decoded = base64_decode(encoded);
        ASSERT_TRUE(decoded.has_value()) << encoded;
        EXPECT_EQ(*decoded, bytes) << encoded;
    }
    EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");  // RFC 4648's test vectors
    EXPECT_EQ(base64_encode("fo"), "Zm8=");
    const std::string binary("\x00\xff\x80\x7f", 4);
    EXPECT_EQ(base64_decode(base64_encode(binary)), binary);
    EXPECT_FALSE(base64_decode("Zm9").has_value());       // not a multiple of 4
    EXPECT_FALSE(base64_decode("Zm9*YmFy").has_value());  // not in the alphabet
}

TEST(Text, HtmlEscapeLeavesNoMarkup) {
    EXPECT_EQ(html_escape("<script>alert(\"x\")</script> & 'y'"),
              "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#39;y&#39;");
}

}  // namespace
}  // namespace alluvium
