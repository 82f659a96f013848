# One place for compiler warnings; every Alluvium target calls alluvium_set_warnings().
function(alluvium_set_warnings target)
    target_compile_options(${target} PRIVATE
        -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
        -Wnon-virtual-dtor -Wold-style-cast -Woverloaded-virtual
        -Wimplicit-fallthrough)
    if(ALLUVIUM_WERROR)
        target_compile_options(${target} PRIVATE -Werror)
    endif()
endfunction()
