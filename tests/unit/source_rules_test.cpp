// The rules for production code (scripts/check-source.py): no file over 700 lines, no
// function over 80, and a timed wait only where docs/ARCHITECTURE.md lists a real deadline.
#include "process.hpp"

#include <gtest/gtest.h>

namespace alluvium::test {
namespace {

TEST(Source, KeepsTheSizeAndWaitRules) {
    const RunResult r =
        run({"python3", std::string(ALLUVIUM_SOURCE_DIR) + "/scripts/check-source.py"},
            std::chrono::seconds(60));
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
}

}  // namespace
}  // namespace alluvium::test
