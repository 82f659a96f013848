# Man pages (help2man, from each program's own --help) and bash completion (from the CLI11
# definition, `--completion`), built with the program and installed with its component.
find_program(HELP2MAN help2man REQUIRED)

# alluvium_cli_docs(<target> NAME "<one line>" COMPONENT <component> [QT])
# QT: the program is a Qt application (help from --help on the offscreen platform; no
# completion, which QCommandLineParser cannot describe).
function(alluvium_cli_docs target)
    cmake_parse_arguments(A "QT" "NAME;COMPONENT" "" ${ARGN})
    set(man ${CMAKE_CURRENT_BINARY_DIR}/${target}.1)
    set(outputs ${man})
    if(A_QT)
        # Qt's own warnings go to stderr: keep them out of the page.
        add_custom_command(OUTPUT ${man}
            COMMAND ${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen
                    ${HELP2MAN} --no-info --section=1 --name=${A_NAME} --output=${man}
                    --version-string=${PROJECT_VERSION}
                    $<TARGET_FILE:${target}>
            DEPENDS ${target}
            COMMENT "Man page for ${target}"
            VERBATIM)
    else()
        # CLI11 prints --help on stdout; each subcommand gets its part of a COMMANDS section.
        set(include ${CMAKE_CURRENT_BINARY_DIR}/${target}.h2m)
        add_custom_command(OUTPUT ${man}
            COMMAND sh -c "\"$1\" --man-include > \"$2\"" sh $<TARGET_FILE:${target}> ${include}
            COMMAND ${HELP2MAN} --no-info --section=1 --name=${A_NAME} --include=${include}
                    --output=${man} $<TARGET_FILE:${target}>
            DEPENDS ${target}
            BYPRODUCTS ${include}
            COMMENT "Man page for ${target}"
            VERBATIM)
    endif()
    install(FILES ${man} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT ${A_COMPONENT})
    if(NOT A_QT)
        set(completion ${CMAKE_CURRENT_BINARY_DIR}/${target}.bash-completion)
        add_custom_command(OUTPUT ${completion}
            COMMAND sh -c "\"$1\" --completion > \"$2\"" sh $<TARGET_FILE:${target}> ${completion}
            DEPENDS ${target}
            COMMENT "Bash completion for ${target}"
            VERBATIM)
        list(APPEND outputs ${completion})
        install(FILES ${completion} DESTINATION ${CMAKE_INSTALL_DATADIR}/bash-completion/completions
                RENAME ${target} COMPONENT ${A_COMPONENT})
    endif()
    add_custom_target(${target}-docs ALL DEPENDS ${outputs})
endfunction()
