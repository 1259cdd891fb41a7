// Counts every heap call of the process (malloc, calloc, realloc, free,
// aligned allocations; operator new goes through malloc). Linked only into
// the heap test, never with a sanitizer (which owns malloc).
#pragma once

namespace mote::test {
long heap_calls();
}
