# ctest: the link map of a firmware image names no heap function. The image
# links no syscall stubs (no _sbrk), so a heap call would already fail to link;
# this makes the promise visible. -D MAP=<image>.map
file(READ ${MAP} map)
foreach(sym malloc calloc realloc free _sbrk _malloc_r _free_r operator\ new _Znwj _Znaj)
  string(REGEX MATCH "[^A-Za-z0-9_]${sym}[^A-Za-z0-9_]" hit "${map}")
  if(hit)
    message(FATAL_ERROR "${MAP}: the link map names '${sym}'")
  endif()
endforeach()
message("${MAP}: no malloc, free, _sbrk or operator new")
