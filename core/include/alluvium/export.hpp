// Symbol visibility for liballuvium-core. The library is built with hidden visibility;
// only declarations marked ALLUVIUM_EXPORT are part of its ABI.
#pragma once

#if defined(ALLUVIUM_CORE_BUILDING)
#define ALLUVIUM_EXPORT __attribute__((visibility("default")))
#else
#define ALLUVIUM_EXPORT
#endif
