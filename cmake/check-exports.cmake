# SPDX-License-Identifier: MIT
# cmake -DLIB=libadma.so -DNM=nm -DHEADER=include/adma.h -DAPI=ADMA_API -P check-exports.cmake
# Fails when the shared library exports a symbol that is not a function the header declares
# with the export macro API (a line starting "API type name("), or when one of those is missing.

cmake_minimum_required(VERSION 3.25)

foreach(var LIB NM HEADER API)
	if(NOT DEFINED ${var})
		message(FATAL_ERROR "check-exports: ${var} not given")
	endif()
endforeach()

execute_process(COMMAND "${NM}" -D --defined-only --format=posix "${LIB}"
		OUTPUT_VARIABLE nm_out RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
	message(FATAL_ERROR "check-exports: ${NM} failed on ${LIB}")
endif()

file(STRINGS "${HEADER}" decls REGEX "^${API} ")
set(declared "")
foreach(line IN LISTS decls)
	if(line MATCHES "[ *]([a-z][a-z0-9_]*)\\(")
		list(APPEND declared "${CMAKE_MATCH_1}")
	endif()
endforeach()

string(REPLACE "\n" ";" lines "${nm_out}")
set(bad "")
set(exported "")
foreach(line IN LISTS lines)
	if(NOT line MATCHES "^([^ ]+) ([A-Za-z]) ")
		continue()
	endif()
	set(sym "${CMAKE_MATCH_1}")
	string(REGEX REPLACE "@.*" "" sym "${sym}")
	# Linker and sanitizer runtime symbols start with an underscore.
	if(sym MATCHES "^_")
		continue()
	endif()
	list(APPEND exported "${sym}")
	if(NOT sym IN_LIST declared)
		list(APPEND bad "${sym}")
	endif()
endforeach()

set(missing "")
foreach(sym IN LISTS declared)
	if(NOT sym IN_LIST exported)
		list(APPEND missing "${sym}")
	endif()
endforeach()

list(LENGTH exported n)
if(bad OR missing)
	message(FATAL_ERROR "check-exports: ${LIB}\n"
			    "  exported but not declared ${API} in the header: ${bad}\n"
			    "  declared ${API} but not exported: ${missing}")
endif()
message(STATUS "check-exports: ${n} symbols, all declared in ${HEADER}")
