# SPDX-License-Identifier: MIT
# Included by the install script: writes adma.pc for the prefix being installed into.
# Expects ADMA_PC_VERSION, ADMA_PC_DESCRIPTION, ADMA_PC_LIBDIR and ADMA_PC_INCLUDEDIR (the
# GNUInstallDirs values, relative to the prefix unless absolute).

function(adma_pc_dir out dir)
	if(IS_ABSOLUTE "${dir}")
		set(${out} "${dir}" PARENT_SCOPE)
	else()
		set(${out} "\${prefix}/${dir}" PARENT_SCOPE)
	endif()
endfunction()

function(adma_write_pc in out)
	set(ADMA_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
	adma_pc_dir(ADMA_PC_LIBDIR_FULL "${ADMA_PC_LIBDIR}")
	adma_pc_dir(ADMA_PC_INCLUDEDIR_FULL "${ADMA_PC_INCLUDEDIR}")
	configure_file("${in}" "${out}" @ONLY)
endfunction()
