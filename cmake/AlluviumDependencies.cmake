# Every dependency comes from a Debian 12 package (see packaging/build-deps.txt).
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
find_package(LibXml2 REQUIRED)
find_package(CURL REQUIRED)
find_package(OpenSSL REQUIRED)
find_package(spdlog REQUIRED)
find_package(fmt REQUIRED)
find_package(Boost 1.74 REQUIRED COMPONENTS system)
pkg_check_modules(FFMPEG REQUIRED IMPORTED_TARGET libavformat libavcodec libavutil)

if(ALLUVIUM_BUILD_SERVER OR ALLUVIUM_BUILD_PLAYER)
    find_package(CLI11 REQUIRED)
endif()
