// The bare-metal printf subset (format.cpp), under its own name so that a
// host test can compare it with the C library's snprintf.
#pragma once
#include <cstdarg>
#include <cstddef>

namespace mote::platform {

// %[-0][width][.prec][hh|h|l|ll|z](d|i|u|x|X|c|s|f|e|g|p|%); '+', ' ' and '#'
// are accepted and ignored; floats print at most 9 decimals, and an exact tie
// rounds away from zero (the C library rounds it to even).
int mini_vformat(char* buf, std::size_t n, const char* fmt, va_list ap);

}  // namespace mote::platform
